// Shows and hides questions that depend on answers on the same page, as soon as they change.
// The server applies the same rules again: this script only saves a round trip.
(function () {
  var node = document.getElementById("showif-data");
  if (!node) return;
  var data = JSON.parse(node.textContent);
  var form = document.querySelector("form");
  function valuesOf(qid) {
    var picked = [];
    // A ranking question posts one select per rank (qid__rank1, qid__rank2, ...).
    form.querySelectorAll('[name="' + qid + '"], select[name^="' + qid + '__rank"]').forEach(function (el) {
      if ((el.type === "radio" || el.type === "checkbox") ? el.checked : el.value.trim() !== "") picked.push(el.value);
    });
    if (picked.length) return picked;
    var earlier = data.earlier[qid];
    if (earlier === undefined || earlier === null || earlier === "") return [];
    return Array.isArray(earlier) ? earlier.map(String) : [String(earlier)];
  }
  function holds(c) {
    if (c.op === "all") return c.parts.every(holds);
    if (c.op === "any") return c.parts.some(holds);
    var given = valuesOf(c.question);
    if (document.getElementById("q-" + c.question) && document.getElementById("q-" + c.question).hidden) given = [];
    if (!given.length) return false;
    if (c.op === "answered") return true;
    var want = c.values;
    var same = given.length === want.length && given.every(function (v) { return want.indexOf(v) >= 0; });
    if (c.op === "equals") return same;
    if (c.op === "not_equals") return !same;
    if (c.op === "in") return given.some(function (v) { return want.indexOf(v) >= 0; });
    if (c.op === "includes") return want.every(function (v) { return given.indexOf(v) >= 0; });
    return true;
  }
  function reads(c) {
    return c.parts.reduce(function (all, p) { return all.concat(reads(p)); }, c.question ? [c.question] : []);
  }
  function stillOpen(c) {
    // A page hanging on an answer of this page not given yet may still come: "Continue" is the honest word.
    return reads(c).some(function (qid) {
      var box = document.getElementById("q-" + qid);
      return box && !box.hidden && valuesOf(qid).length === 0;
    }) || holds(c);
  }
  function apply() {
    Object.keys(data.rules).forEach(function (qid) {
      var box = document.getElementById("q-" + qid);
      if (box) box.hidden = !holds(data.rules[qid]);
    });
    var button = form.querySelector('button[value="next"]');
    if (!button || !data.later) return;
    var more = data.later.some(function (conds) { return conds === null || conds.some(stillOpen); });
    button.textContent = more ? button.dataset.more : button.dataset.last;
  }
  document.querySelectorAll(".only-if").forEach(function (el) { el.hidden = true; });
  form.addEventListener("change", apply);
  form.addEventListener("input", apply);
  apply();
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
