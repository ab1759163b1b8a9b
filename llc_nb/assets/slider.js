<script>(function () {
  var root = document.getElementById("%(id)s");
  if (!root || root.dataset.ready) return;
  root.dataset.ready = "1";
  var frames = root.querySelectorAll(":scope > .llcnb-frames > .llcnb-frame");
  var range = root.querySelector(".llcnb-range"), label = root.querySelector(".llcnb-step"),
      count = root.querySelector(".llcnb-count"), play = root.querySelector(".llcnb-play"), timer = null;
  function show(i) {
    i = Math.max(0, Math.min(frames.length - 1, i | 0));
    for (var k = 0; k < frames.length; k++) frames[k].hidden = k !== i;
    range.value = i; label.textContent = frames[i].dataset.label;
    count.textContent = (i + 1) + " / " + frames.length; root.dataset.index = i;
  }
  function stop() { if (timer) clearInterval(timer); timer = null; play.textContent = "\\u25B6 play"; }
  range.addEventListener("input", function () { stop(); show(+range.value); });
  root.querySelector(".llcnb-prev").addEventListener("click", function () { stop(); show(+range.value - 1); });
  root.querySelector(".llcnb-next").addEventListener("click", function () { stop(); show(+range.value + 1); });
  play.addEventListener("click", function () {
    if (timer) return stop();
    if (+range.value >= frames.length - 1) show(0);
    play.textContent = "\\u275A\\u275A pause";
    timer = setInterval(function () {
      if (+range.value >= frames.length - 1) return stop();
      show(+range.value + 1);
    }, %(interval)d);
  });
  show(+range.value);
})();</script>
