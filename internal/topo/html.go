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
		"{{STYLE}}", pageStyle,
		"{{SCRIPT}}", pageScript,
	).Replace(strings.Replace(pageTemplate, "{{LIVE}}", fmt.Sprint(live), 1))
	_, err = io.WriteString(w, page)
	return err
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}

// pageTemplate is the page: pageStyle, the model as JSON and pageScript.
const pageTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{TITLE}}</title>
<style>{{STYLE}}</style>
</head>
<body>
<h1>{{TITLE}}</h1>
<div id="bar"><span id="status"></span>
<button id="collapse-all" type="button">collapse all</button>
<button id="expand-all" type="button">expand all</button></div>
<div id="topo"></div>
<script id="model" type="application/json">{{MODEL}}</script>
<script>
"use strict";
var live = {{LIVE}};
{{SCRIPT}}</script>
</body>
</html>
`
