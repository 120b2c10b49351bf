/// <reference types="vitest/config" />
import { resolve } from "node:path";
import { defineConfig } from "vite";

// Built into dist/ and served by the aiohttp server under /app/.
// Entries: the member/leader app (index.html), the coordinator pages, the attendance and
// scores page, the questionnaire pages, the outcomes page and the pathways page.
export default defineConfig({
  base: "/app/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, "index.html"),
        coordinator: resolve(import.meta.dirname, "coordinator.html"),
        questionnaires: resolve(import.meta.dirname, "questionnaires.html"),
        outcomes: resolve(import.meta.dirname, "outcomes.html"),
        attendance: resolve(import.meta.dirname, "attendance.html"),
        pathways: resolve(import.meta.dirname, "pathways.html"),
      },
    },
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/i/": "http://127.0.0.1:8080",
      "/socket.io": { target: "ws://127.0.0.1:8080", ws: true },
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
