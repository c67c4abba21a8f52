// The report's graph views: mount each, and link a selected node with its layer-table row both ways.
function mountGraphs(page) {
  page.graphs.forEach(function (data, i) {
    const host = document.getElementById("graph-" + i);
    const table = document.getElementById(host.dataset.table);
    const rowOf = name => table && [...table.tBodies[0].rows].find(r => {
      const c = r.querySelector("td.c-name"); return c && c.dataset.v === name; });
    const view = ArchvizGraph.mount(host, data, {domains: page.domains, onSelect: function (name) {
      if (!table) return;
      for (const r of table.querySelectorAll("tr.avg-row-selected")) r.classList.remove("avg-row-selected");
      const r = rowOf(name);
      if (r) { r.classList.add("avg-row-selected"); }
    }});
    if (table) table.tBodies[0].addEventListener("click", function (ev) {
      const r = ev.target.closest("tr"); const c = r && r.querySelector("td.c-name");
      if (!c) return;
      for (const x of table.querySelectorAll("tr.avg-row-selected")) x.classList.remove("avg-row-selected");
      r.classList.add("avg-row-selected");
      view.selectRow(c.dataset.v).then(() => host.scrollIntoView({block: "start"}));
    });
  });
}
