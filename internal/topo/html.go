package topo

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteHTML writes a self-contained page drawing t: the model is embedded
// as JSON and drawn by a small script of our own (no CDN, no network).
// With live set, the page also listens on /events (server-sent events,
// see [Server]) and redraws when a new topology arrives.
func WriteHTML(w io.Writer, t *Topology, live bool) error {
	model, err := json.Marshal(t) // escapes <, > and & so it cannot end the script
	if err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	page := strings.NewReplacer(
		"{{TITLE}}", htmlEscape("topology of "+t.Host),
		"{{MODEL}}", string(model),
		"{{LIVE}}", fmt.Sprint(live),
	).Replace(pageTemplate)
	_, err = io.WriteString(w, page)
	return err
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}

// pageTemplate is the page. The script builds the DOM with textContent
// only, so names from the kernel can never inject markup.
const pageTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{TITLE}}</title>
<style>
body { font-family: sans-serif; font-size: 13px; margin: 12px; background: #fafafa; color: #222; }
h1 { font-size: 16px; margin: 0 0 8px; }
#status { color: #777; font-size: 11px; margin-bottom: 8px; }
#topo { position: relative; display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start; }
#wires { position: absolute; left: 0; top: 0; pointer-events: none; overflow: visible; }
.ns { border: 1px solid #99a; border-radius: 6px; padding: 6px 10px 10px; background: #fff; min-width: 150px; }
.ns > h2 { font-size: 13px; margin: 0 0 6px; color: #446; }
.bridge { border: 2px solid #4a78b8; border-radius: 4px; background: #eef3fb; padding: 4px 6px; margin: 6px 0; }
.bridge > h3 { font-size: 12px; margin: 0 0 4px; }
.port, .link { border: 1px solid #bbb; border-radius: 3px; background: #fff; padding: 2px 5px; margin: 3px 0 3px 10px; }
.link { margin-left: 0; }
.down { color: #999; border-style: dashed; }
.kind { color: #777; font-size: 11px; margin-left: 4px; }
.addr { color: #2a5a2a; font-size: 11px; margin-left: 4px; }
.seen { color: #864; font-size: 11px; margin-left: 14px; display: block; }
.holder { color: #646; font-size: 11px; margin-left: 4px; }
.extra { border: 1px solid #c96; border-radius: 6px; padding: 6px 10px; background: #fff8f0; }
</style>
</head>
<body>
<h1>{{TITLE}}</h1>
<div id="status"></div>
<div id="topo"></div>
<script id="model" type="application/json">{{MODEL}}</script>
<script>
"use strict";
(function () {
  var live = {{LIVE}};
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function key(ns, name) { return ns + "/" + name; }
  function nsLabel(ns) { return ns.root ? "(root)" : (ns.name || ns.id); }
  function addrs(l) {
    return (l.addresses || []).filter(function (a) { return a.scope !== "link"; })
      .map(function (a) { return a.cidr; }).join(" ");
  }
  function linkBox(ns, l, cls, anchors) {
    var d = el("div", cls + (l.state === "down" || !l.admin_up ? " down" : ""));
    d.appendChild(el("span", "name", l.name));
    d.appendChild(el("span", "kind", l.kind));
    var a = addrs(l);
    if (a) d.appendChild(el("span", "addr", a));
    if (l.tap && l.tap.holders) {
      l.tap.holders.forEach(function (h) { d.appendChild(el("span", "holder", h.comm + "[" + h.pid + "]")); });
    }
    d.dataset.link = key(ns.id, l.name);
    anchors[key(ns.id, l.name)] = d;
    return d;
  }
  function render(t) {
    var root = document.getElementById("topo");
    root.textContent = "";
    document.getElementById("status").textContent =
      "schema " + t.schema + ", " + t.source + ", " + t.namespaces.length + " namespaces" +
      (live ? ", live, updated " + new Date().toLocaleTimeString() : "");
    var anchors = {};
    t.namespaces.forEach(function (ns) {
      var box = el("div", "ns");
      box.dataset.ns = ns.id;
      box.appendChild(el("h2", null, "netns " + nsLabel(ns)));
      var onBridge = {};
      (ns.bridges || []).forEach(function (br) {
        var l = (ns.links || []).find(function (x) { return x.name === br.name; }) || { name: br.name, kind: "bridge" };
        var b = el("div", "bridge");
        b.dataset.bridge = br.name;
        var h = el("h3", null, "bridge " + br.name);
        var a = addrs(l);
        if (a) h.appendChild(el("span", "addr", a));
        b.appendChild(h);
        anchors[key(ns.id, br.name)] = b;
        (br.ports || []).forEach(function (p) {
          onBridge[p.name] = true;
          var pl = (ns.links || []).find(function (x) { return x.name === p.name; }) || { name: p.name, kind: p.kind };
          var pd = linkBox(ns, pl, "port", anchors);
          pd.dataset.port = p.name;
          (p.stations || []).forEach(function (s) {
            pd.appendChild(el("span", "seen", s.mac + (s.ips ? " " + s.ips.join(" ") : "")));
          });
          b.appendChild(pd);
        });
        box.appendChild(b);
      });
      (ns.links || []).forEach(function (l) {
        if (l.kind === "loopback" || l.kind === "bridge" || onBridge[l.name]) return;
        box.appendChild(linkBox(ns, l, "link", anchors));
      });
      root.appendChild(box);
    });
    if (t.libvirt && t.libvirt.domains) {
      var lv = el("div", "extra");
      lv.appendChild(el("h2", null, "libvirt"));
      t.libvirt.domains.forEach(function (d) {
        lv.appendChild(el("div", "link", "vm " + d.name + " (" + d.state + "): " +
          (d.interfaces || []).map(function (i) { return i.target || "-"; }).join(", ")));
      });
      root.appendChild(lv);
    }
    (t.ovs || []).forEach(function (br) {
      var o = el("div", "extra");
      o.appendChild(el("h2", null, "ovs " + br.name));
      br.ports.forEach(function (p) { o.appendChild(el("div", "port", p.name + (p.type ? " (" + p.type + ")" : ""))); });
      root.appendChild(o);
    });
    drawWires(t, root, anchors);
  }
  function drawWires(t, root, anchors) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.id = "wires";
    svg.setAttribute("width", root.scrollWidth);
    svg.setAttribute("height", root.scrollHeight);
    var base = root.getBoundingClientRect();
    var done = {};
    t.namespaces.forEach(function (n) {
      (n.links || []).forEach(function (l) {
        if (!l.peer || !l.peer.name) return;
        var a = key(n.id, l.name), z = key(l.peer.namespace, l.peer.name);
        var k = a < z ? a + "|" + z : z + "|" + a;
        if (done[k] || !anchors[a] || !anchors[z]) return;
        done[k] = true;
        var ra = anchors[a].getBoundingClientRect(), rz = anchors[z].getBoundingClientRect();
        var line = document.createElementNS(ns, "line");
        line.setAttribute("x1", ra.left + ra.width / 2 - base.left);
        line.setAttribute("y1", ra.top + ra.height / 2 - base.top);
        line.setAttribute("x2", rz.left + rz.width / 2 - base.left);
        line.setAttribute("y2", rz.top + rz.height / 2 - base.top);
        line.setAttribute("stroke", "#2a7a2a");
        line.setAttribute("stroke-width", "2");
        line.setAttribute("stroke-opacity", "0.6");
        line.dataset.veth = k;
        svg.appendChild(line);
      });
    });
    root.appendChild(svg);
  }
  render(JSON.parse(document.getElementById("model").textContent));
  if (live && window.EventSource) {
    var es = new EventSource("events");
    es.onmessage = function (ev) { render(JSON.parse(ev.data)); };
    es.onerror = function () { document.getElementById("status").textContent += " (disconnected, retrying)"; };
  }
})();
</script>
</body>
</html>
`
