package topo

// The live page's style and script. The layout is ours and deterministic:
//
//   - a cell is a host of a fleet (its namespaces stacked inside) or, for
//     one host, a namespace; libvirt and Open vSwitch get cells of their own;
//   - cells sit on a grid in reading order, as many columns as fit the
//     window; every row of text is a block as wide as its cell, so nothing
//     stands to the right of a port inside its cell;
//   - an edge leaves a port to the right, runs in the vertical channel
//     right of its column, along the horizontal channel below a row, and
//     enters the other port from the right; an edge within one cell runs
//     in a channel inside the cell, right of its boxes; lanes are given
//     per channel so that edges sharing a stretch of it lie apart, and the
//     channels widen to hold them.
//
// Channels hold no text, so no edge crosses a label; "#check" in the URL
// verifies that from the DOM and writes the result into #check. Clicking a
// cell's title collapses it: its edges then end on the title.

const pageStyle = `
body { font-family: sans-serif; font-size: 13px; margin: 12px; background: #fafafa; color: #222; }
h1 { font-size: 16px; margin: 0 0 6px; }
#bar { color: #777; font-size: 11px; margin-bottom: 10px; }
#bar button { font-size: 11px; margin-left: 8px; }
#topo { position: relative; }
#wires { position: absolute; left: 0; top: 0; pointer-events: none; overflow: visible; }
#wires polyline { fill: none; stroke-width: 2; stroke-opacity: 0.75; }
.cell { position: absolute; box-sizing: border-box; border: 1px solid #99a; border-radius: 6px; padding: 4px 8px 8px; background: #fff; min-width: 170px; }
.cell.fleet { border: 2px solid #557; background: #f4f4fa; }
.cell > h2 { font-size: 13px; margin: 0 0 4px; color: #446; cursor: pointer; user-select: none; }
.cell > h2::before { content: "\25be "; color: #99a; }
.cell.collapsed > h2::before { content: "\25b8 "; }
.cell.collapsed > :not(h2) { display: none; }
.ns { border: 1px solid #aab; border-radius: 5px; padding: 2px 6px 6px; margin: 6px 0 0; background: #fff; }
.ns > h3, .bridge > h3 { font-size: 12px; margin: 2px 0 3px; }
.ns > h3 { color: #446; }
.bridge { border: 2px solid #4a78b8; border-radius: 4px; background: #eef3fb; padding: 2px 6px 4px; margin: 5px 0; }
.port, .link, .row { display: block; border: 1px solid #bbb; border-radius: 3px; background: #fff; padding: 2px 5px; margin: 3px 0; white-space: nowrap; }
.down { color: #999; border-style: dashed; }
.kind { color: #777; font-size: 11px; margin-left: 4px; }
.addr { color: #2a5a2a; font-size: 11px; margin-left: 4px; }
.rate { color: #a55a00; font-size: 11px; margin-left: 6px; }
.seen { color: #864; font-size: 11px; margin-left: 12px; display: block; }
.holder { color: #646; font-size: 11px; margin-left: 4px; }
.extra { border-color: #c96; background: #fff8f0; }
#check { display: none; }
`

const pageScript = `(function () {
  var GAP = 18, LANE = 6, SVGNS = "http://www.w3.org/2000/svg";
  var collapsed = {};   // cell key -> true, kept across live redraws
  var last = null;      // the model drawn last
  var sample = null;    // the previous counters, for rates
  var rates = {};       // "ns/link" -> [rx, tx] bytes per second

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function key(ns, name) { return ns + "/" + name; }
  function addrs(l) {
    return (l.addresses || []).filter(function (a) { return a.scope !== "link"; })
      .map(function (a) { return a.cidr; }).join(" ");
  }
  function human(bps) {
    var u = ["B/s", "kB/s", "MB/s", "GB/s"], i = 0;
    while (bps >= 1000 && i < u.length - 1) { bps /= 1000; i++; }
    return (bps < 10 && i > 0 ? bps.toFixed(1) : Math.round(bps)) + " " + u[i];
  }
  function rateText(k) {
    var r = rates[k];
    return r ? "rx " + human(r[0]) + " tx " + human(r[1]) : "";
  }

  // linkRow draws one device as a block row and registers it as an anchor.
  function linkRow(ns, l, cls, anchors, vms) {
    var d = el("div", cls + " lbl" + (l.state === "down" || !l.admin_up ? " down" : ""));
    d.appendChild(el("span", "name", l.name));
    d.appendChild(el("span", "kind", l.kind));
    var a = addrs(l);
    if (a) d.appendChild(el("span", "addr", a));
    (l.tap && l.tap.holders || []).forEach(function (h) {
      d.appendChild(el("span", "holder", h.comm + "[" + h.pid + "]"));
    });
    if (vms[l.name]) d.appendChild(el("span", "holder", "vm " + vms[l.name]));
    var k = key(ns.id, l.name);
    d.appendChild(el("span", "rate", rateText(k))).dataset.rate = k;
    d.dataset.link = k;
    anchors[k] = d;
    return d;
  }

  // nsBox draws a namespace's bridges (ports and the stations learned
  // behind them) and its other links into box.
  function nsBox(ns, box, anchors, vms) {
    var links = ns.links || [], onBridge = {};
    function find(n) { return links.find(function (x) { return x.name === n; }); }
    (ns.bridges || []).forEach(function (br) {
      var l = find(br.name) || { name: br.name, kind: "bridge" };
      var b = el("div", "bridge");
      b.dataset.bridge = br.name;
      var h = el("h3", "lbl", "bridge " + br.name);
      var a = addrs(l);
      if (a) h.appendChild(el("span", "addr", a));
      var r = key(ns.id, br.name);
      h.appendChild(el("span", "rate", rateText(r))).dataset.rate = r;
      b.appendChild(h);
      anchors[r] = h;
      (br.ports || []).forEach(function (p) {
        onBridge[p.name] = true;
        var pd = linkRow(ns, find(p.name) || { name: p.name, kind: p.kind, admin_up: true }, "port", anchors, vms);
        pd.dataset.port = p.name;
        if (p.state && p.state !== "forwarding") pd.appendChild(el("span", "kind", p.state));
        (p.stations || []).forEach(function (s) {
          pd.appendChild(el("span", "seen", s.mac + (s.vlan ? " vlan " + s.vlan : "") + (s.ips ? " " + s.ips.join(" ") : "")));
        });
        b.appendChild(pd);
      });
      box.appendChild(b);
    });
    links.forEach(function (l) {
      if (l.kind === "loopback" || l.kind === "bridge" || onBridge[l.name]) return;
      var d = linkRow(ns, l, "link", anchors, vms);
      // Neighbours seen through a device that is no bridge port.
      (ns.neighbours || []).forEach(function (n) {
        if (n.dev === l.name && n.mac && n.state !== "failed" && n.state !== "incomplete") {
          d.appendChild(el("span", "seen", n.ip + " " + n.mac));
        }
      });
      box.appendChild(d);
    });
  }

  // cells groups the model into the grid's cells.
  function cells(t, anchors) {
    var hosts = [], byHost = {};
    t.namespaces.forEach(function (ns) {
      var h = ns.host || "";
      if (!byHost[h]) { byHost[h] = []; hosts.push(h); }
      byHost[h].push(ns);
    });
    var vms = {};  // host-side device -> VM, for the root namespace
    ((t.libvirt && t.libvirt.domains) || []).forEach(function (d) {
      (d.interfaces || []).forEach(function (i) { if (i.target) vms[i.target] = d.name; });
    });
    var out = [];
    function cell(k, title, cls) {
      var c = el("div", "cell" + (cls ? " " + cls : "") + (collapsed[k] ? " collapsed" : ""));
      c.dataset.cell = k;
      var h = el("h2", "lbl", title);
      h.title = "click to collapse or expand";
      h.onclick = function () { collapsed[k] = !collapsed[k]; render(last); };
      c.appendChild(h);
      out.push({ key: k, div: c, head: h, members: [], fleet: cls === "fleet" });
      return out[out.length - 1];
    }
    function nsTitle(ns) {
      if (ns.root || ns.id === ns.host) return "(root)";
      var n = ns.name || ns.id;
      return ns.host && n.indexOf(ns.host + "/") === 0 ? n.slice(ns.host.length + 1) : n;
    }
    if (hosts.length === 1 && hosts[0] === "") {
      t.namespaces.forEach(function (ns) {
        var c = cell("ns " + ns.id, "netns " + nsTitle(ns));
        c.div.dataset.ns = ns.id;
        c.members.push(ns.id);
        nsBox(ns, c.div, anchors, ns.root ? vms : {});
      });
    } else {
      hosts.forEach(function (h) {
        var c = cell("host " + h, "host " + h, "fleet");
        byHost[h].forEach(function (ns) {
          c.members.push(ns.id);
          var b = el("div", "ns");
          b.dataset.ns = ns.id;
          b.appendChild(el("h3", "lbl", "netns " + nsTitle(ns)));
          nsBox(ns, b, anchors, ns.root || ns.id === h ? vms : {});
          c.div.appendChild(b);
        });
      });
    }
    if (t.libvirt && t.libvirt.domains) {
      var lv = cell("libvirt", "libvirt", "extra");
      t.libvirt.domains.forEach(function (d) {
        lv.div.appendChild(el("div", "row lbl", "vm " + d.name + " (" + d.state + "): " +
          (d.interfaces || []).map(function (i) { return i.target || "-"; }).join(", ")));
      });
    }
    (t.ovs || []).forEach(function (br) {
      var o = cell("ovs " + br.name, "ovs " + br.name, "extra");
      br.ports.forEach(function (p) {
        o.div.appendChild(el("div", "row lbl", p.name + (p.type ? " (" + p.type + ")" : "") + (p.tag ? " tag " + p.tag : "")));
      });
    });
    return out;
  }

  // nearby orders one host's cells so that peers sit side by side: breadth
  // first along the edges, from each unplaced cell in the model's order.
  // A fleet keeps the order its hosts were given in.
  function nearby(cs, es) {
    var idx = {}, adj = cs.map(function () { return []; });
    cs.forEach(function (c, i) { c.members.forEach(function (m) { idx[m] = i; }); });
    function nsOf(k) { return idx[k.slice(0, k.lastIndexOf("/"))]; }
    es.forEach(function (e) {
      var a = nsOf(e.a), z = nsOf(e.z);
      if (a !== undefined && z !== undefined && a !== z) { adj[a].push(z); adj[z].push(a); }
    });
    var out = [], seen = {};
    cs.forEach(function (c, i) {
      if (seen[i]) return;
      var queue = [i];
      seen[i] = true;
      while (queue.length) {
        var j = queue.shift();
        out.push(cs[j]);
        adj[j].slice().sort(function (p, q) { return p - q; }).forEach(function (k) {
          if (!seen[k]) { seen[k] = true; queue.push(k); }
        });
      }
    });
    return out;
  }

  // edges lists the veth pairs (and joined links) to draw, each once.
  function edges(t) {
    var out = [], done = {};
    t.namespaces.forEach(function (n) {
      (n.links || []).forEach(function (l) {
        if (!l.peer || !l.peer.name) return;
        var a = key(n.id, l.name), z = key(l.peer.namespace, l.peer.name);
        var k = a < z ? a + "|" + z : z + "|" + a;
        if (done[k]) return;
        done[k] = true;
        out.push({ a: a, z: z, key: k });
      });
    });
    return out;
  }

  // lanes gives each interval [lo, hi] of one channel the lowest lane no
  // overlapping interval holds, and returns how many lanes it used.
  function lanes(items) {
    var ends = [];
    items.slice().sort(function (p, q) { return p.lo - q.lo || p.hi - q.hi; }).forEach(function (it) {
      var l = 0;
      while (l < ends.length && ends[l] >= it.lo) l++;
      ends[l] = it.hi;
      it.set(l);
    });
    return ends.length;
  }

  // grid lays the cells out in n columns and routes the edges: a first
  // pass sizes the horizontal channels (edges there span columns), the
  // rows follow, then the vertical channels (edges there span pixels).
  function grid(cs, es, n) {
    var rows = Math.ceil(cs.length / n), g = { cols: n, colX: [], colW: [], rowY: [], rowH: [] };
    function col(i) { return i % n; }
    function row(i) { return Math.floor(i / n); }
    var hs = [];
    for (var r = 0; r < rows; r++) hs.push([]);
    es.forEach(function (e) {
      var ca = col(e.a.cell), cz = col(e.z.cell);
      e.hrow = undefined;
      if (e.a.cell === e.z.cell) return;
      if (ca !== cz) {
        e.hrow = Math.min(row(e.a.cell), row(e.z.cell));
        hs[e.hrow].push({ lo: Math.min(ca, cz), hi: Math.max(ca, cz), set: function (l) { e.h = l; } });
      }
    });
    var y = 0;
    for (var r = 0; r < rows; r++) {
      var h = 0;
      for (var j = r * n; j < Math.min(cs.length, (r + 1) * n); j++) h = Math.max(h, cs[j].h);
      g.rowY.push(y);
      g.rowH.push(h);
      y += h + GAP + lanes(hs[r]) * LANE + GAP;
    }
    g.height = y;
    var vs = [];
    for (var c = 0; c < n; c++) vs.push([]);
    es.forEach(function (e) {
      if (e.a.cell === e.z.cell) return;
      var ay = g.rowY[row(e.a.cell)] + e.a.y, zy = g.rowY[row(e.z.cell)] + e.z.y;
      if (e.hrow === undefined) {
        vs[col(e.a.cell)].push({ lo: Math.min(ay, zy), hi: Math.max(ay, zy), set: function (l) { e.va = l; } });
        return;
      }
      var hy = g.rowY[e.hrow] + g.rowH[e.hrow] + GAP + e.h * LANE;
      vs[col(e.a.cell)].push({ lo: Math.min(ay, hy), hi: Math.max(ay, hy), set: function (l) { e.va = l; } });
      vs[col(e.z.cell)].push({ lo: Math.min(zy, hy), hi: Math.max(zy, hy), set: function (l) { e.vz = l; } });
    });
    var x = 0;
    for (var c = 0; c < n; c++) {
      var w = 0;
      for (var j = c; j < cs.length; j += n) w = Math.max(w, cs[j].w);
      g.colX.push(x);
      g.colW.push(w);
      x += w + GAP + lanes(vs[c]) * LANE + GAP;
    }
    g.width = x;
    return g;
  }

  function render(t) {
    last = t;
    var root = document.getElementById("topo");
    root.textContent = "";
    document.getElementById("status").textContent =
      "schema " + t.schema + ", " + t.source + ", " + t.namespaces.length + " namespaces" +
      (live ? ", live, updated " + new Date().toLocaleTimeString() : "");
    var anchors = {};
    var cs = cells(t, anchors), all = edges(t);
    if (!cs.some(function (c) { return c.fleet; })) cs = nearby(cs, all);
    var cellOf = {};
    cs.forEach(function (c, i) {
      c.div.style.left = "0px";
      c.div.style.top = "0px";
      root.appendChild(c.div);
      c.members.forEach(function (id) { cellOf[id] = i; });
    });
    // Measure every cell and where its anchors sit inside it.
    cs.forEach(function (c) { var r = c.div.getBoundingClientRect(); c.w = r.width; c.h = r.height; });
    function end(k) {
      var ns = k.slice(0, k.lastIndexOf("/")), ci = cellOf[ns];
      if (ci === undefined) return null;
      var c = cs[ci], a = collapsed[c.key] ? c.head : anchors[k];
      if (!a) return null;
      var cr = c.div.getBoundingClientRect(), r = a.getBoundingClientRect();
      return { cell: ci, x: r.right - cr.left, y: r.top + r.height / 2 - cr.top };
    }
    var es = [];
    all.forEach(function (e) {
      var a = end(e.a), z = end(e.z);
      if (a && z && !(a.cell === z.cell && a.y === z.y)) es.push({ key: e.key, ka: e.a, kz: e.z, a: a, z: z });
    });
    // Edges within one cell run in a channel inside it, right of its
    // boxes: the cell widens by their lanes, and its anchors are measured
    // again (a cell held wide by its min-width may narrow its content).
    var inner = cs.map(function () { return []; });
    es.forEach(function (e) {
      if (e.a.cell !== e.z.cell) return;
      inner[e.a.cell].push({ lo: Math.min(e.a.y, e.z.y), hi: Math.max(e.a.y, e.z.y), set: function (l) { e.lane = l; } });
    });
    inner.forEach(function (list, i) {
      var n = lanes(list);
      if (!n) return;
      var c = cs[i], st = getComputedStyle(c.div);
      var pr = parseFloat(st.paddingRight) + 4 + n * LANE;
      c.div.style.paddingRight = pr + "px";
      c.w = c.div.getBoundingClientRect().width;
      c.inner = c.w - parseFloat(st.borderRightWidth) - pr + 4;
    });
    es.forEach(function (e) { e.a = end(e.ka); e.z = end(e.kz); });
    // Grid: as many columns as fit the window, in reading order.
    var avail = Math.max(600, window.innerWidth - 40), g = null;
    for (var n = Math.min(cs.length, 16); n >= 1; n--) {
      g = grid(cs, es, n);
      if (g.width <= avail) break;
    }
    var colX = g.colX, colW = g.colW, rowY = g.rowY, rowH = g.rowH, x = g.width, y = g.height;
    cs.forEach(function (c, i) {
      c.col = i % g.cols; c.row = Math.floor(i / g.cols);
      c.x = colX[c.col]; c.y = rowY[c.row];
      c.div.style.left = c.x + "px";
      c.div.style.top = c.y + "px";
    });
    root.style.width = x + "px";
    root.style.height = y + "px";
    var svg = document.createElementNS(SVGNS, "svg");
    svg.id = "wires";
    svg.setAttribute("width", x);
    svg.setAttribute("height", y);
    function vx(col, lane) { return colX[col] + colW[col] + GAP + lane * LANE; }
    es.forEach(function (e) {
      var ca = cs[e.a.cell], cz = cs[e.z.cell];
      var ax = ca.x + e.a.x, ay = ca.y + e.a.y, zx = cz.x + e.z.x, zy = cz.y + e.z.y;
      var p = [[ax, ay]];
      if (e.a.cell === e.z.cell) {
        var ix = ca.x + ca.inner + e.lane * LANE;
        p.push([ix, ay], [ix, zy]);
      } else if (e.hrow !== undefined) {
        p.push([vx(ca.col, e.va), ay]);
        var hy = rowY[e.hrow] + rowH[e.hrow] + GAP + e.h * LANE;
        p.push([vx(ca.col, e.va), hy], [vx(cz.col, e.vz), hy], [vx(cz.col, e.vz), zy]);
      } else {
        p.push([vx(ca.col, e.va), ay], [vx(ca.col, e.va), zy]);
      }
      p.push([zx, zy]);
      var line = document.createElementNS(SVGNS, "polyline");
      line.setAttribute("points", p.map(function (q) { return q[0] + "," + q[1]; }).join(" "));
      line.setAttribute("stroke", "hsl(" + ((es.indexOf(e) * 47) % 360) + ",55%,38%)");
      line.dataset.veth = e.key;
      svg.appendChild(line);
    });
    if (location.hash === "#check-straight") straighten(svg, anchors, root);
    root.appendChild(svg);
    if (location.hash.indexOf("#check") === 0) check(root, svg);
  }

  // straighten redraws the edges as straight lines between the anchors'
  // centres, as the page once did, so a test can see the check fail.
  function straighten(svg, anchors, root) {
    var base = root.getBoundingClientRect();
    Array.prototype.forEach.call(svg.querySelectorAll("polyline"), function (pl) {
      var ks = pl.dataset.veth.split("|"), a = anchors[ks[0]], z = anchors[ks[1]];
      if (!a || !z) return;
      var ra = a.getBoundingClientRect(), rz = z.getBoundingClientRect();
      pl.setAttribute("points", [ra, rz].map(function (r) {
        return (r.left + r.width / 2 - base.left) + "," + (r.top + r.height / 2 - base.top);
      }).join(" "));
    });
  }

  // check writes into #check how many edge segments cross a label's box
  // (its inside, so an edge may end on a label's border).
  function check(root, svg) {
    var base = root.getBoundingClientRect();
    var labels = Array.prototype.map.call(root.querySelectorAll(".lbl"), function (e) {
      var r = e.getBoundingClientRect();
      return { e: e, l: r.left - base.left + 1, r: r.right - base.left - 1, t: r.top - base.top + 1, b: r.bottom - base.top - 1 };
    }).filter(function (b) { return b.r > b.l && b.b > b.t; });
    var bad = [], segs = 0, oblique = 0;
    Array.prototype.forEach.call(svg.querySelectorAll("polyline"), function (pl) {
      var p = pl.getAttribute("points").split(" ").map(function (q) { return q.split(",").map(Number); });
      for (var i = 1; i < p.length; i++) {
        var x1 = p[i - 1][0], y1 = p[i - 1][1], x2 = p[i][0], y2 = p[i][1];
        segs++;
        if (x1 !== x2 && y1 !== y2) oblique++;
        labels.forEach(function (b) {
          if (crosses(x1, y1, x2, y2, b)) bad.push(pl.dataset.veth + " crosses " + b.e.textContent.slice(0, 40));
        });
      }
    });
    var out = el("pre", null, bad.join("\n"));
    out.id = "check";
    out.dataset.edges = svg.querySelectorAll("polyline").length;
    out.dataset.segments = segs;
    out.dataset.labels = labels.length;
    out.dataset.oblique = oblique;
    out.dataset.crossings = bad.length;
    out.dataset.width = Math.ceil(root.scrollWidth);
    out.dataset.height = Math.ceil(root.getBoundingClientRect().bottom + window.scrollY);
    var old = document.getElementById("check");
    if (old) old.remove();
    document.body.appendChild(out);
  }

  // crosses tells whether the segment meets the open box b (Liang-Barsky).
  function crosses(x1, y1, x2, y2, b) {
    var t0 = 0, t1 = 1, dx = x2 - x1, dy = y2 - y1;
    var ps = [-dx, dx, -dy, dy], qs = [x1 - b.l, b.r - x1, y1 - b.t, b.b - y1];
    for (var i = 0; i < 4; i++) {
      if (ps[i] === 0) { if (qs[i] <= 0) return false; continue; }
      var r = qs[i] / ps[i];
      if (ps[i] < 0) { if (r > t0) t0 = r; } else { if (r < t1) t1 = r; }
      if (t0 >= t1) return false;
    }
    return true;
  }

  // counters turns two samples of byte counters into rates.
  function counters(c) {
    if (sample && c.t > sample.t) {
      var dt = (c.t - sample.t) / 1000;
      rates = {};
      Object.keys(c.links).forEach(function (k) {
        var a = c.links[k], b = sample.links[k];
        if (b && a[0] >= b[0] && a[1] >= b[1]) rates[k] = [(a[0] - b[0]) / dt, (a[1] - b[1]) / dt];
      });
      render(last); // a longer rate may widen a cell: lay out again
    }
    sample = c;
  }

  function all(v) {
    return function () {
      document.querySelectorAll(".cell").forEach(function (c) { collapsed[c.dataset.cell] = v; });
      render(last);
    };
  }
  document.getElementById("collapse-all").onclick = all(true);
  document.getElementById("expand-all").onclick = all(false);
  // "collapsed" in the URL's fragment opens with every cell collapsed.
  var first = JSON.parse(document.getElementById("model").textContent);
  render(first);
  if (location.hash.indexOf("collapsed") >= 0) all(true)();
  var redraw = null;
  window.addEventListener("resize", function () {
    clearTimeout(redraw);
    redraw = setTimeout(function () { render(last); }, 100);
  });
  if (live && window.EventSource) {
    var es = new EventSource("events");
    es.onmessage = function (ev) { render(JSON.parse(ev.data)); };
    es.addEventListener("counters", function (ev) { counters(JSON.parse(ev.data)); });
    es.onerror = function () { document.getElementById("status").textContent += " (disconnected, retrying)"; };
  }
})();
`
