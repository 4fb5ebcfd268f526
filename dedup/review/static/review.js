// Keyboard for the review page: j/k move through the rows, Enter opens, x selects a member,
// c/s/m/r act on the topic, u undoes its latest decision, ? shows help. No network requests.
(function () {
  "use strict";
  let current = -1;
  function rows() { return Array.from(document.querySelectorAll("table.rows tbody tr")); }
  function move(step) {
    const all = rows();
    if (!all.length) return;
    if (current >= 0 && all[current]) all[current].classList.remove("current");
    current = Math.max(0, Math.min(all.length - 1, current + step));
    all[current].classList.add("current");
    all[current].scrollIntoView({ block: "nearest" });
  }
  function submit(id) { const f = document.getElementById(id); if (f) f.requestSubmit(); }
  function focus(id) { const e = document.getElementById(id); if (e) { e.focus(); return true; } return false; }
  document.addEventListener("keydown", function (event) {
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea" || event.ctrlKey || event.metaKey || event.altKey) return;
    const all = rows();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter":
        if (current >= 0 && all[current] && all[current].dataset.href) window.location = all[current].dataset.href;
        break;
      case "x": {
        const box = current >= 0 && all[current] ? all[current].querySelector("input[type=checkbox]") : null;
        if (box) box.checked = !box.checked;
        break;
      }
      case "c": submit("confirm-form"); break;
      case "s": submit("split-form"); break;
      case "m": focus("merge-into"); event.preventDefault(); break;
      case "r": focus("reroute-unit"); event.preventDefault(); break;
      case "u": {
        const undo = document.querySelectorAll("form.undo");
        if (undo.length) undo[undo.length - 1].requestSubmit();
        break;
      }
      case "?": { const h = document.getElementById("help"); h.hidden = !h.hidden; break; }
      default: return;
    }
  });
})();
