// Adds lock entries for the native packages of other platforms that rollup lists as optional
// dependencies. npm leaves them out of package-lock.json when the registry it talks to does
// not serve them (npm/cli#4828), and `npm ci` then refuses the lock as out of sync. The
// entries carry os/cpu/libc, so npm never tries to install them on another platform.
// Run after `npm install` changed the lock: `node scripts/complete-lock.mjs`.
import { readFileSync, writeFileSync } from "node:fs";

const lockPath = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
const packages = lock.packages;

const OS = ["android", "darwin", "freebsd", "linux", "openbsd", "openharmony", "win32", "sunos", "aix", "netbsd"];
const CPU = { x64: "x64", ia32: "ia32", arm64: "arm64", arm: "arm", loong64: "loong64", ppc64: "ppc64", riscv64: "riscv64", s390x: "s390x" };

function platformOf(name) {
  const parts = name.split("/").pop().split("-");
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.map((p) => CPU[p]).find(Boolean);
  if (!os || !cpu) return null;
  const entry = { os: [os], cpu: [cpu] };
  if (os === "linux") entry.libc = [parts.some((p) => p.startsWith("musl")) ? "musl" : "glibc"];
  return entry;
}

let added = 0;
for (const [path, meta] of Object.entries(packages)) {
  if (!path.endsWith("node_modules/rollup") || !meta.optionalDependencies) continue;
  for (const [name, version] of Object.entries(meta.optionalDependencies)) {
    const key = `node_modules/${name}`;
    if (packages[key]) continue;
    const platform = platformOf(name);
    if (!platform) continue;
    packages[key] = {
      version,
      cpu: platform.cpu,
      dev: meta.dev ?? undefined,
      ...(platform.libc ? { libc: platform.libc } : {}),
      license: "MIT",
      optional: true,
      os: platform.os,
    };
    added += 1;
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lock: added ${added} optional platform entries`);
