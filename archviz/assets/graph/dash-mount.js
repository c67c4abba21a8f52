/* The dashboard's side of the graph view: mount one view per model of a page's data into a host
 * element (Explorer: one, Compare: two to four on one scale), and link nodes with the layer table.
 * Dash loads every script of the assets folder; these two functions are its clientside callbacks. */
window.archvizMount = function (hostId, page, selectedStore) {
  const host = document.getElementById(hostId);
  if (!host) return 0;
  host.textContent = "";
  if (!page || !Array.isArray(page.graphs)) return 0;
  page.graphs.forEach(function (data) {
    if (page.graphs.length > 1) host.appendChild(Object.assign(document.createElement("h3"), {textContent: data.model}));
    const div = document.createElement("div");
    host.appendChild(div);
    window.ArchvizGraph.mount(div, data, {domains: page.domains, onSelect: function (name) {
      if (selectedStore && name && window.dash_clientside && window.dash_clientside.set_props) {
        window.dash_clientside.set_props(selectedStore, {data: {points: [{customdata: name}]}});
      }
    }});
  });
  return page.graphs.length;
};

window.archvizSelectRow = function (hostId, cell, rows) {
  const host = document.getElementById(hostId);
  const view = host && host.firstElementChild && host.firstElementChild.archvizGraph;
  if (!view || !cell || !Array.isArray(rows) || !rows[cell.row]) return null;
  const name = rows[cell.row].name;
  if (typeof name !== "string") return null;
  view.selectRow(name);
  return name;
};
