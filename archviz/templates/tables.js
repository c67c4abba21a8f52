// Sortable, filterable tables of the report and the Atlas (inlined by both templates: still offline).
const NATURAL = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
function cellValue(td, type) {
  const v = td.getAttribute("data-v");
  return type === "num" ? (v === "" ? -Infinity : parseFloat(v)) : v;
}
function compareCells(x, y, type) {
  if (type === "num") return x < y ? -1 : x > y ? 1 : 0;
  return NATURAL.compare(x, y);  // layer1.9 before layer1.10
}
function treeOrder(table) {
  table.querySelectorAll("th").forEach(h => h.classList.remove("sorted-asc", "sorted-desc"));
  const body = table.tBodies[0];
  Array.from(body.rows).sort((a, b) => a.dataset.i - b.dataset.i).forEach(r => body.appendChild(r));
}
document.querySelectorAll("table.layers").forEach(table => {
  table.querySelectorAll("th").forEach((th, idx) => {
    th.addEventListener("click", () => {
      if (th.classList.contains("sorted-desc")) { treeOrder(table); return; }  // third click: tree order
      const asc = !th.classList.contains("sorted-asc");
      table.querySelectorAll("th").forEach(h => h.classList.remove("sorted-asc", "sorted-desc"));
      th.classList.add(asc ? "sorted-asc" : "sorted-desc");
      const type = th.getAttribute("data-type");
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      rows.sort((a, b) => compareCells(cellValue(a.cells[idx], type), cellValue(b.cells[idx], type), type) * (asc ? 1 : -1)
                          || a.dataset.i - b.dataset.i);
      rows.forEach(r => body.appendChild(r));
    });
  });
});
document.querySelectorAll("button.tree-order").forEach(b => {
  b.addEventListener("click", () => treeOrder(document.getElementById(b.dataset.table)));
});
document.querySelectorAll("label.all-columns input").forEach(box => {
  box.addEventListener("change", () => document.getElementById(box.dataset.table).classList.toggle("all", box.checked));
});
document.querySelectorAll("input.filter").forEach(inp => {
  inp.addEventListener("input", () => {
    const q = inp.value.toLowerCase();
    document.getElementById(inp.dataset.table).querySelectorAll("tbody tr").forEach(tr => {
      tr.style.display = tr.textContent.toLowerCase().includes(q) ? "" : "none";
    });
  });
});
