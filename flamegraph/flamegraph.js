"use strict";
// The flame graph's behaviour: a click zooms to a frame, "Reset Zoom"
// goes back, "Search" (or Ctrl-F) highlights the frames matching a
// regular expression. Each frame is <g class="f"> holding <title>,
// <rect> and <text>; the drawn geometry is read once, at init.
var fg, frames = [], xpad, fontw, countName, details, unzoomBtn, searchBtn, matchedText, full, zoomed = null, searching = null;
function init() {
	fg = document.getElementById("flamegraph");
	xpad = +fg.getAttribute("data-xpad");
	fontw = +fg.getAttribute("data-font");
	countName = fg.getAttribute("data-count");
	full = +fg.getAttribute("width") - 2 * xpad;
	details = document.getElementById("details");
	unzoomBtn = document.getElementById("unzoom");
	searchBtn = document.getElementById("search");
	matchedText = document.getElementById("matched");
	var gs = fg.querySelectorAll("g.f");
	for (var i = 0; i < gs.length; i++) {
		var g = gs[i], r = g.querySelector("rect"), title = g.querySelector("title").textContent;
		var f = {g: g, r: r, t: g.querySelector("text"), title: title, name: title.slice(0, title.lastIndexOf(" (")),
			x: +r.getAttribute("x"), w: +r.getAttribute("width"), y: +r.getAttribute("y"), fill: r.getAttribute("fill")};
		frames.push(f);
		g.addEventListener("click", zoomHandler(f));
		g.addEventListener("mouseover", detailsHandler(f));
		g.addEventListener("mouseout", function () { details.textContent = " "; });
	}
	unzoomBtn.addEventListener("click", unzoom);
	searchBtn.addEventListener("click", function () { searching === null ? searchPrompt() : resetSearch(); });
	window.addEventListener("keydown", function (e) {
		if (e.keyCode === 114 || (e.ctrlKey && e.keyCode === 70)) { e.preventDefault(); searchPrompt(); }
	});
}
function zoomHandler(f) { return function () { zoom(f.g); }; }
function detailsHandler(f) { return function () { details.textContent = "Function: " + f.title; }; }
function frameOf(g) {
	for (var i = 0; i < frames.length; i++) if (frames[i].g === g) return frames[i];
	return null;
}
function place(f, x, w) {
	f.r.setAttribute("x", x.toFixed(1));
	f.r.setAttribute("width", w.toFixed(1));
	f.t.setAttribute("x", (x + 3).toFixed(1));
	var chars = Math.floor((w - 3) / fontw);
	f.t.textContent = chars < 3 ? "" : f.name.length <= chars ? f.name : f.name.slice(0, chars - 2) + "..";
}
// zoom widens g's frame to the full width: its callees scale with it,
// its callers stay full width (faded), everything else is hidden.
function zoom(g) {
	var z = frameOf(g);
	if (!z) return;
	zoomed = z;
	var eps = 0.0001, ratio = full / z.w;
	for (var i = 0; i < frames.length; i++) {
		var f = frames[i], inside = f.x >= z.x - eps && f.x + f.w <= z.x + z.w + eps;
		var covers = f.x <= z.x + eps && f.x + f.w >= z.x + z.w - eps;
		if (f.y > z.y && covers) {
			f.g.setAttribute("class", "f parent");
			place(f, xpad, full);
		} else if (f.y <= z.y && inside) {
			f.g.setAttribute("class", "f");
			place(f, xpad + (f.x - z.x) * ratio, f.w * ratio);
		} else {
			f.g.setAttribute("class", "f hide");
		}
	}
	unzoomBtn.setAttribute("class", "");
	if (searching !== null) search(searching);
}
function unzoom() {
	zoomed = null;
	for (var i = 0; i < frames.length; i++) {
		var f = frames[i];
		f.g.setAttribute("class", "f");
		place(f, f.x, f.w);
	}
	unzoomBtn.setAttribute("class", "hide");
	if (searching !== null) search(searching);
}
function searchPrompt() {
	var term = prompt("Enter a search term (regexp allowed, e.g. ^ext4_)", "");
	if (term) search(term);
}
// search colors the frames whose name matches term and prints the share
// of the samples under them (nested matches counted once).
function search(term) {
	var re, spans = [], eps = 0.0001;
	try {
		re = new RegExp(term);
	} catch (e) {
		matchedText.textContent = "Not a regexp: " + term;
		return;
	}
	searching = term;
	for (var i = 0; i < frames.length; i++) {
		var f = frames[i];
		if (re.test(f.name)) {
			f.r.setAttribute("fill", "rgb(230,0,230)");
			if (!zoomed || f.x >= zoomed.x - eps && f.x + f.w <= zoomed.x + zoomed.w + eps) spans.push([f.x, f.x + f.w]);
		} else {
			f.r.setAttribute("fill", f.fill);
		}
	}
	spans.sort(function (a, b) { return a[0] - b[0]; });
	var covered = 0, end = -1;
	for (var j = 0; j < spans.length; j++) {
		var s = Math.max(spans[j][0], end);
		if (spans[j][1] > s) { covered += spans[j][1] - s; end = spans[j][1]; }
	}
	var base = zoomed ? zoomed.w : full;
	searchBtn.textContent = "Reset Search";
	matchedText.textContent = spans.length ? "Matched: " + (100 * covered / base).toFixed(1) + "%" : "Matched: none";
}
function resetSearch() {
	searching = null;
	for (var i = 0; i < frames.length; i++) frames[i].r.setAttribute("fill", frames[i].fill);
	searchBtn.textContent = "Search";
	matchedText.textContent = " ";
}
