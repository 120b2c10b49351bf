// Placeholder entry for the coordinator pages (/app/coordinator.html).
// The scheduling work owns src/coordinator/ and replaces this module.
const root = document.getElementById("coordinator");
if (root) {
  const h1 = document.createElement("h1");
  h1.textContent = "Healers' Circle: coordinator";
  const p = document.createElement("p");
  p.textContent = "The coordinator pages are not built yet.";
  root.replaceChildren(h1, p);
}
