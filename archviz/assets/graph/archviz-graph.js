/* archviz graph view: the architecture as a map you can open.
 *
 * Data comes from archviz.render.graph (Graph.data): the module tree with the traced ops as atoms,
 * each node's figures and its graphviz label (escaped in Python), and the atom-level edges. This
 * file projects an expansion state onto visible nodes (`project`, the twin of view.py), writes the
 * DOT (`toDot`, the twin of dot.py) and lays it out with graphviz compiled to WebAssembly
 * (@viz-js/viz, vendored beside this file): the same engine and the same DOT as `archviz diagram`.
 *
 * Names are user text: they reach the page only through textContent, and DOT only through the
 * labels Python escaped. Nothing here uses innerHTML with data. */
(function () {
  "use strict";
  let vizPromise = null;
  function viz() {
    if (!vizPromise) vizPromise = window.Viz.instance();
    return vizPromise;
  }

  // ---- projection (view.py) ------------------------------------------------------------------
  function ancestors(nodes, id) {
    const out = [];
    let p = nodes[id].parent;
    while (p !== null && p !== undefined) { out.push(p); p = nodes[p].parent; }
    return out;
  }

  function standIn(nodes, id, expanded, anc) {
    const chain = anc[id];
    for (let i = chain.length - 1; i >= 0; i--) if (!expanded.has(chain[i])) return chain[i];
    return id;
  }

  function hasSatellite(n, expanded) {
    return n.kind === "group" && !expanded.has(n.id) && !n.run && !!n.block &&
      n.block.merge === "add" && n.block.merges === 1;
  }

  function project(data, expandedIn, anc) {
    const nodes = data.nodes;
    const expanded = new Set(expandedIn); expanded.add(0);
    const visible = new Map();
    for (const n of nodes) if (n.kind === "atom") visible.set(standIn(nodes, n.id, expanded, anc), true);
    const sats = [...visible.keys()].filter(v => hasSatellite(nodes[v], expanded));
    const satSet = new Set(sats);
    const edges = new Map();
    const put = (s, d, st) => { const k = s + ">" + d + ">" + st; if (!edges.has(k)) edges.set(k, [s, d, st]); };
    for (const [a, b] of data.edges) {
      const ra = a < 0 ? a : standIn(nodes, a, expanded, anc);
      const rb = b < 0 ? b : standIn(nodes, b, expanded, anc);
      if (ra === rb) continue;
      const src = satSet.has(ra) ? "s" + ra : ra;
      put(src, rb, "");
      if (satSet.has(rb)) put(src, "s" + rb, "skip");
    }
    for (const s of sats) put(s, "s" + s, "");
    const order = [...visible.keys()].sort((x, y) => nodes[x].first - nodes[y].first);
    return {expanded: expanded, nodes: order, satellites: sats, edges: [...edges.values()]};
  }

  // ---- colour (labels.fill) ------------------------------------------------------------------
  function fill(style, value, dom, scale, key) {
    if (scale === "category") {
      const c = (style.categories[key] || {})[value];
      return c ? [c, "white"] : [style.no_data, "#1a1a1a"];
    }
    if (value === null || value === undefined || !dom) return [style.no_data, "#1a1a1a"];
    const lo = dom[0], hi = dom[1], v = Number(value);
    let t;
    if (scale === "log") t = (v <= 0 || hi <= lo) ? 0 : (Math.log(Math.max(v, lo)) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
    else t = hi <= lo ? 0 : (v - lo) / (hi - lo);
    t = Math.min(Math.max(t, 0), 1);
    const r = style.ramp;
    return [r[Math.min(Math.floor(t * (r.length - 1) + 0.5), r.length - 1)], t > 0.62 ? "white" : "#1a1a1a"];
  }

  // ---- DOT (dot.py) --------------------------------------------------------------------------
  function shapeText(s) { return s && s.length ? s.join("x") : "-"; }

  function nodeStatement(data, id, colour, doms) {
    const n = data.nodes[id], st = data.style;
    if (n.kind === "atom" && n.merge) {
      const [sym, col] = st.merge[n.merge] || ["?", "#7f7f7f"];
      return `n${id} [id="n${id}" class="merge merge-${n.merge}" label="${sym}" shape=circle width=0.35 ` +
        `fixedsize=true fillcolor="white" color="${col}" fontcolor="${col}" penwidth=1.6 fontsize=14];`;
    }
    const scale = st.overlays[colour][2];
    const [bg, ink] = fill(st, n.metrics[colour], doms[colour], scale, colour);
    const classes = [n.kind === "group" ? "group" : "atom", (n.cat || "").replace(/ /g, "-")];
    if (n.block) classes.push("block", n.block.kind.replace(/ /g, "-"));
    if (n.run) classes.push("folded");
    const peri = n.run ? " peripheries=2" : "";
    return `n${id} [id="n${id}" class="${classes.filter(Boolean).join(" ")}" label=<${n.label}> ` +
      `fillcolor="${bg}" fontcolor="${ink}"${peri}];`;
  }

  function satelliteStatement(data, id) {
    const [sym, col] = data.style.merge.add;
    return `s${id} [id="s${id}" class="merge merge-add satellite" label="${sym}" shape=circle width=0.3 ` +
      `fixedsize=true fillcolor="white" color="${col}" fontcolor="${col}" penwidth=1.6 fontsize=13];`;
  }

  function edgeStatement(data, src, dst, style, shapes) {
    const nodes = data.nodes, st = data.style;
    const a = src === -1 ? "in" : (typeof src === "string" ? src : "n" + src);
    const b = dst === -2 ? "out" : (typeof dst === "string" ? dst : "n" + dst);
    const attrs = [];
    if (style === "skip") {
      const target = nodes[Number(String(dst).slice(1))];
      const kind = (target.block && target.block.skip) || "shortcut";
      attrs.push("style=dashed", `color="${st.merge.add[1]}"`, "constraint=false", `class="skip skip-${kind}"`);
      if (kind === "projection") attrs.push('label="projection" fontcolor="#1f77b4"');
    } else if (typeof dst === "number" && dst >= 0 && nodes[dst].merge) {
      attrs.push(`color="${(st.merge[nodes[dst].merge] || ["", "#666666"])[1]}"`);
    }
    if (shapes && style !== "skip") {
      const source = src !== -1 ? nodes[Number(String(src).replace(/^s/, ""))] : null;
      const out = source ? source.figures.output_shape : null;
      if (out && out.length) attrs.push(`label="${shapeText(out)}"`);
    }
    return `${a} -> ${b}` + (attrs.length ? ` [${attrs.join(" ")}]` : "") + ";";
  }

  function toDot(data, view, colour, doms, shapes, rankdir) {
    const visible = new Set(view.nodes), sats = new Set(view.satellites);
    const out = data.dot.head.slice();
    if (rankdir && rankdir !== "TB") out[1] = out[1].replace("rankdir=TB;", "rankdir=" + rankdir + ";");
    if (visible.size > data.dot.big) out.push(data.dot.big_attrs);
    const emit = (gid, indent) => {
      for (const c of data.nodes[gid].children) {
        if (view.expanded.has(c) && data.nodes[c].kind === "group") {
          out.push(indent + `subgraph cluster_${c} { id="c${c}"; class="cluster"; label=<${data.nodes[c].cluster}>; ` +
            `labeljust=l; style="rounded,dashed"; color="#9aa5b1"; fontsize=11; fontcolor="#334155";`);
          emit(c, indent + "  ");
          out.push(indent + "}");
        } else if (visible.has(c)) {
          out.push(indent + nodeStatement(data, c, colour, doms));
          if (sats.has(c)) out.push(indent + satelliteStatement(data, c));
        }
      }
    };
    emit(0, "");
    for (const [s, d, st] of view.edges) out.push(edgeStatement(data, s, d, st, shapes));
    out.push("}");
    return out.join("\n");
  }

  // ---- formatting for the panel --------------------------------------------------------------
  const grouped = v => (v === null || v === undefined) ? "–" : Math.round(Number(v)).toLocaleString("en-US");
  function human(v) {
    if (v === null || v === undefined) return "–";
    const n = Number(v);
    for (const [u, s] of [["T", 1e12], ["G", 1e9], ["M", 1e6], ["k", 1e3]]) if (Math.abs(n) >= s) return (n / s).toFixed(2) + " " + u;
    return String(Math.round(n * 100) / 100);
  }
  const pair = v => v === null || v === undefined ? "–" : (typeof v === "string" ? v :
    (new Set(v).size === 1 ? String(v[0]) : v.join("×")));

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ---- the widget ----------------------------------------------------------------------------
  class GraphView {
    constructor(root, data, options) {
      this.root = root;
      this.data = data;
      this.opts = options || {};
      this.doms = this.opts.domains || data.domains;
      this.anc = data.nodes.map(n => ancestors(data.nodes, n.id));
      this.expanded = new Set(this.opts.expanded || data.initial);
      this.colour = this.opts.colour || (data.changes ? "change" : data.measured ? "latency" : "macs");
      this.shapes = false;
      this.rankdir = this.opts.rankdir || "TB";
      this.zoom = null;  // null: fit the width
      this.selected = null;
      this.renders = 0;
      this.mountedAt = performance.now();
      this.build();
      this.ready = this.render();
    }

    build() {
      const d = this.data, r = this.root;
      r.classList.add("avg");
      r.textContent = "";
      const bar = el("div", {class: "avg-bar"});
      const listId = "avg-list-" + Math.random().toString(36).slice(2);
      this.search = el("input", {type: "search", class: "avg-search", placeholder: "find a module…", list: listId,
        "aria-label": "find a module"});
      const list = el("datalist", {id: listId});
      const names = new Set();
      for (const n of d.nodes) if (n.row && n.row !== "(model)") names.add(n.name);
      for (const n of Object.keys(d.absorbed_shown || {})) if (n !== "(model)") names.add(n);
      for (const n of names) list.appendChild(el("option", {value: n}));
      this.search.addEventListener("change", () => this.find(this.search.value));
      this.search.addEventListener("keydown", e => { if (e.key === "Enter") this.find(this.search.value); });
      this.level = el("select", {class: "avg-level", "aria-label": "level"});
      this.level.appendChild(el("option", {value: "initial"}, "stage view"));
      for (let i = 1; i <= d.levels; i++) this.level.appendChild(el("option", {value: String(i)}, "level " + i));
      this.level.appendChild(el("option", {value: "all"}, "everything"));
      this.level.addEventListener("change", () => this.setLevel(this.level.value));
      const expandAll = el("button", {type: "button", class: "avg-expand-all"}, "Expand all");
      expandAll.addEventListener("click", () => { this.level.value = "all"; this.setLevel("all"); });
      this.colourSel = el("select", {class: "avg-colour", "aria-label": "colour by"});
      for (const [k, o] of Object.entries(d.style.overlays)) {
        if (d.style.measured_overlays.includes(k) && !d.measured) continue;
        if (k === "change" && !d.changes) continue;
        this.colourSel.appendChild(el("option", {value: k}, o[0].split(" (")[0]));
      }
      this.colourSel.value = this.colour;
      this.colourSel.addEventListener("change", () => { this.colour = this.colourSel.value; this.render(); });
      this.dirSel = el("select", {class: "avg-direction", "aria-label": "direction"});
      this.dirSel.append(el("option", {value: "TB"}, "top to bottom"), el("option", {value: "LR"}, "left to right"));
      this.dirSel.value = this.rankdir;
      this.dirSel.addEventListener("change", () => { this.rankdir = this.dirSel.value; this.render(); });
      const shapesBox = el("input", {type: "checkbox", class: "avg-shapes"});
      shapesBox.addEventListener("change", () => { this.shapes = shapesBox.checked; this.render(); });
      const shapesLabel = el("label", {class: "avg-check"}); shapesLabel.append(shapesBox, " shapes on edges");
      const zoomOut = el("button", {type: "button", title: "zoom out", "aria-label": "zoom out"}, "−");
      const zoomFit = el("button", {type: "button", title: "fit the width"}, "fit");
      const zoomIn = el("button", {type: "button", title: "zoom in", "aria-label": "zoom in"}, "+");
      zoomOut.addEventListener("click", () => this.setZoom((this.zoom || this.fitScale()) / 1.25));
      zoomIn.addEventListener("click", () => this.setZoom((this.zoom || this.fitScale()) * 1.25));
      zoomFit.addEventListener("click", () => this.setZoom(null));
      const svgBtn = el("button", {type: "button", class: "avg-export-svg"}, "SVG");
      const pngBtn = el("button", {type: "button", class: "avg-export-png"}, "PNG");
      svgBtn.addEventListener("click", () => this.download("svg"));
      pngBtn.addEventListener("click", () => this.download("png"));
      const lab = (t, c) => { const l = el("label", {class: "avg-field"}); l.append(t + " ", c); return l; };
      const zoom = el("span", {class: "avg-zoom"}); zoom.append(zoomOut, zoomFit, zoomIn);
      const exp = el("span", {class: "avg-export"}); exp.append("export ", svgBtn, pngBtn);
      bar.append(this.search, list, lab("show", this.level), expandAll, lab("colour by", this.colourSel),
        lab("flow", this.dirSel), shapesLabel, zoom, exp);
      this.canvas = el("div", {class: "avg-canvas", tabindex: "0"});
      this.panel = el("aside", {class: "avg-panel", "aria-live": "polite"});
      const main = el("div", {class: "avg-main"}); main.append(this.canvas, this.panel);
      this.legend = el("div", {class: "avg-legend"});
      this.status = el("div", {class: "avg-status", role: "status"});
      const hint = el("div", {class: "avg-hint"},
        "Click a group (double border: a folded run ×N) to open it in place, an open group's frame to close it; " +
        "hover or click a node for its figures.");
      r.append(bar, hint, main, this.legend, this.status);
      this.showPanel(null);
    }

    // state changes
    setLevel(v) {
      const d = this.data;
      if (v === "initial") this.expanded = new Set(d.initial);
      else if (v === "all") this.expanded = new Set(d.nodes.filter(n => n.kind === "group").map(n => n.id));
      else this.expanded = new Set(d.nodes.filter(n => n.kind === "group" && this.anc[n.id].length < Number(v)).map(n => n.id));
      return this.render();
    }
    toggle(id) {
      if (this.expanded.has(id)) this.expanded.delete(id); else this.expanded.add(id);
      return this.render();
    }
    resolve(name) {
      const d = this.data;
      let hit = d.nodes.find(n => n.row === name || n.name === name);
      const own = (o, k) => o && Object.prototype.hasOwnProperty.call(o, k);
      if (!hit && own(d.absorbed, name)) hit = d.nodes[d.absorbed[name]];
      if (!hit && own(d.absorbed_shown, name)) hit = d.nodes[d.absorbed_shown[name]];
      if (!hit && name) {
        const q = name.toLowerCase();
        hit = d.nodes.find(n => n.name.toLowerCase().includes(q));
      }
      return hit || null;
    }
    find(name) {
      const hit = this.resolve(String(name || "").trim());
      if (!hit) { this.status.textContent = "no module matches " + JSON.stringify(String(name)); return Promise.resolve(null); }
      return this.reveal(hit.id, true).then(() => hit.id);
    }
    reveal(id, notify) {
      for (const a of this.anc[id]) this.expanded.add(a);
      this.selected = id;
      return this.render().then(() => {
        this.highlight();
        const g = this.canvas.querySelector("#n" + id);
        if (g && g.scrollIntoView) g.scrollIntoView({block: "center", inline: "center"});
        this.showPanel(id);
        if (notify && this.opts.onSelect) this.opts.onSelect(this.data.nodes[id].row);
      });
    }
    selectRow(row) {
      const n = this.data.nodes.find(x => x.row === row);
      const id = n ? n.id : (Object.prototype.hasOwnProperty.call(this.data.absorbed, row) ? this.data.absorbed[row] : null);
      return id === null ? Promise.resolve() : this.reveal(id, false);
    }
    currentView() { return project(this.data, this.expanded, this.anc); }
    dot() { return toDot(this.data, this.currentView(), this.colour, this.doms, this.shapes, this.rankdir); }

    render() {
      const t0 = performance.now();
      const source = this.dot();
      return viz().then(v => {
        let svg;
        try { svg = v.renderSVGElement(source); } catch (e) {
          this.status.textContent = "layout failed: " + String(e && e.message || e).slice(0, 200);
          return;
        }
        this.canvas.textContent = "";
        this.canvas.appendChild(svg);
        this.svg = svg;
        this.natural = [svg.width.baseVal.value, svg.height.baseVal.value];
        this.applyZoom();
        this.wire();
        this.highlight();
        this.drawLegend();
        this.renders += 1;
        this.lastMs = performance.now() - t0;
        if (this.renders === 1) this.firstPaintMs = performance.now() - this.mountedAt;
        const view = this.currentView();
        this.status.textContent = `${view.nodes.length} nodes shown · ${this.expanded.size - 1} groups open`;
        this.root.dataset.renders = String(this.renders);
      });
    }

    wire() {
      const d = this.data;
      for (const g of this.svg.querySelectorAll("g.node")) {
        const m = /^([ns])(\d+)$/.exec(g.id || "");
        if (!m) continue;
        const id = Number(m[2]);
        g.style.cursor = "pointer";
        g.addEventListener("mouseenter", () => this.showPanel(id));
        g.addEventListener("mouseleave", () => this.showPanel(this.selected));
        g.addEventListener("click", ev => {
          ev.stopPropagation();
          this.selected = id;
          if (m[1] === "n" && d.nodes[id].kind === "group") {  // open in place: one layout
            this.toggle(id).then(() => {
              this.showPanel(id);
              if (this.opts.onSelect) this.opts.onSelect(d.nodes[id].row);
            });
          } else {
            this.highlight(); this.showPanel(id);
            if (this.opts.onSelect) this.opts.onSelect(d.nodes[id].row);
          }
        });
      }
      for (const g of this.svg.querySelectorAll("g.cluster")) {
        const m = /^c(\d+)$/.exec(g.id || "");
        if (!m) continue;
        g.style.cursor = "zoom-out";
        g.addEventListener("click", () => { const id = Number(m[1]); this.expanded.delete(id); this.selected = id; this.render().then(() => this.highlight()); });
        g.addEventListener("mouseenter", () => this.showPanel(Number(m[1])));
        g.addEventListener("mouseleave", () => this.showPanel(this.selected));
      }
    }

    highlight() {
      if (!this.svg) return;
      for (const g of this.svg.querySelectorAll(".avg-selected")) g.classList.remove("avg-selected");
      if (this.selected === null) return;
      const g = this.svg.querySelector("#n" + this.selected) || this.svg.querySelector("#c" + this.selected);
      if (g) g.classList.add("avg-selected");
    }

    fitScale() {
      const w = this.canvas.clientWidth - 8;
      return this.natural && this.natural[0] > w && w > 0 ? w / this.natural[0] : 1;
    }
    setZoom(z) { this.zoom = z; this.applyZoom(); }
    applyZoom() {
      if (!this.svg) return;
      const s = this.zoom || this.fitScale();
      this.svg.setAttribute("width", Math.round(this.natural[0] * s) + "px");
      this.svg.setAttribute("height", Math.round(this.natural[1] * s) + "px");
    }

    drawLegend() {
      const st = this.data.style, o = st.overlays[this.colour];
      this.legend.textContent = "";
      this.legend.appendChild(el("span", {class: "avg-legend-title"}, "fill: " + o[0] + (o[2] === "log" ? " (log scale)" : "")));
      if (o[2] === "category") {
        for (const [k, c] of Object.entries(st.categories[this.colour] || {})) {
          const s = el("span", {class: "avg-swatch"}); s.style.background = c;
          this.legend.append(s, el("span", {}, k));
        }
      } else {
        const dom = this.doms[this.colour];
        this.legend.appendChild(el("span", {class: "avg-tick"}, dom ? human(dom[0]) : "no data"));
        const bar = el("span", {class: "avg-ramp"});
        bar.style.background = "linear-gradient(to right, " + st.ramp.join(", ") + ")";
        this.legend.appendChild(bar);
        this.legend.appendChild(el("span", {class: "avg-tick"}, dom ? human(dom[1]) : ""));
      }
      const nd = el("span", {class: "avg-swatch"}); nd.style.background = st.no_data;
      this.legend.append(nd, el("span", {}, "no figure"));
      this.legend.appendChild(el("span", {class: "avg-merges"}, "+ residual add · C concat · × gate · dashed: shortcut"));
    }

    showPanel(id) {
      const p = this.panel;
      p.textContent = "";
      if (id === null || id === undefined) {
        p.appendChild(el("p", {class: "avg-muted"}, "Hover or click a node: its type, kernel, shapes, parameters, MACs, field, stride, depth" +
          (this.data.measured ? ", latency and roofline bound." : ".")));
        return;
      }
      const n = this.data.nodes[id], f = n.figures || {}, a = n.attrs || {};
      p.appendChild(el("h4", {}, n.name));
      p.appendChild(el("div", {class: "avg-muted"}, n.detail));
      const dl = el("dl");
      const row = (k, v) => { if (v === undefined) return; dl.append(el("dt", {}, k), el("dd", {}, v)); };
      row("type", n.type + (n.kind === "atom" && n.row ? "" : (n.kind === "group" ? " (group)" : " (op)")));
      if (n.run) row("folded run", `${n.run.count} × ${n.run.type}; each block merges on its own (${n.run.merges} in all)`);
      if (n.block) row("block", n.block.kind + (n.block.merge ? " · " + n.block.merge + (n.block.skip ? " · " + n.block.skip + " shortcut" : "") : ""));
      if (a.kernel) row("kernel", pair(a.kernel));
      if (a.stride) row("stride", pair(a.stride));
      if (a.padding) row("padding", pair(a.padding));
      if (a.dilation) row("dilation", pair(a.dilation));
      if (a.groups) row("groups", String(a.groups));
      row("input", (n.inputs || []).map(shapeText).join(", ") || "–");
      row("output", shapeText(f.output_shape));
      row("params", grouped(f.params));
      row("MACs", grouped(f.macs) + (f.macs !== null && f.macs !== undefined && this.data.total_macs ?
        ` (${(100 * f.macs / this.data.total_macs).toFixed(2)}% of the model)` : ""));
      row("FLOPs", f.flops === null || f.flops === undefined ? "–" : grouped(f.flops) + " (2 × MACs)");
      row("activations", f.activations === null || f.activations === undefined ? "– (not counted per op)" : grouped(f.activations));
      row("receptive field", pair(f.receptive_field) + (typeof f.receptive_field === "object" && f.receptive_field ? " px" : ""));
      row("effective stride", pair(f.effective_stride));
      row("depth", f.depth === null || f.depth === undefined ? "–" : String(f.depth));
      if (this.data.measured) {
        row("latency", f.latency_ms === null || f.latency_ms === undefined ? "– (not measured)" : Number(f.latency_ms).toFixed(3) + " ms");
        row("bytes moved", grouped(f.bytes));
        row("achieved", f.achieved_flops ? human(f.achieved_flops) + "FLOP/s" : "–");
        row("bound", f.bound ? f.bound + (f.roof ? " (" + f.roof + " roof)" : "") : "–");
      }
      p.appendChild(dl);
    }

    // export what is on screen
    svgText() {
      const clone = this.svg.cloneNode(true);
      clone.setAttribute("width", this.natural[0] + "pt");
      clone.setAttribute("height", this.natural[1] + "pt");
      clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
      return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(clone);
    }
    download(kind) {
      const stem = (this.data.model || "model").replace(/[^A-Za-z0-9_.-]+/g, "_") + "-graph";
      const save = (blob, name) => {
        const a = document.createElement("a");
        a.href = URL.createObjectURL(blob); a.download = name;
        document.body.appendChild(a); a.click(); a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 1000);
      };
      const text = this.svgText();
      if (kind === "svg") { save(new Blob([text], {type: "image/svg+xml"}), stem + ".svg"); return; }
      const img = new Image();
      img.onload = () => {
        const c = document.createElement("canvas");
        c.width = Math.ceil(this.natural[0] * 2); c.height = Math.ceil(this.natural[1] * 2);
        const ctx = c.getContext("2d"); ctx.fillStyle = "white"; ctx.fillRect(0, 0, c.width, c.height);
        ctx.drawImage(img, 0, 0, c.width, c.height);
        c.toBlob(b => save(b, stem + ".png"), "image/png");
      };
      img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(text);
    }
  }

  function mount(root, data, options) {
    if (root.archvizGraph) root.archvizGraph.destroyed = true;
    const g = new GraphView(root, data, options);
    root.archvizGraph = g;
    return g;
  }

  window.ArchvizGraph = {mount: mount, project: project, toDot: toDot, fill: fill};
})();
