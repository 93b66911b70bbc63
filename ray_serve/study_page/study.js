// The rating page: intake, then one item at a time; every answer is saved the moment it is given.
"use strict";
(() => {
  const app = document.getElementById("app");
  const $ = (id) => document.getElementById(id);
  const token = app.dataset.token;
  const mode = app.dataset.mode;
  const requireFullPlay = app.dataset.requireFullPlay === "true";
  const api = `/api/study/${encodeURIComponent(token)}`;
  const player = $("player");
  let state = null;
  let position = null;
  let current = null;
  let played = { A: false, B: false };
  let saves = Promise.resolve(); // answers are sent one after another, in the order given

  async function call(method, path, body) {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(api + path, {
          method,
          cache: "no-store",
          headers: body ? { "Content-Type": "application/json" } : {},
          body: body ? JSON.stringify(body) : undefined,
        });
        if (res.ok) return res.json();
        const detail = (await res.json().catch(() => ({}))).detail;
        const err = new Error(typeof detail === "string" ? detail : `error ${res.status}`);
        err.status = res.status;
        throw err;
      } catch (err) {
        // Retry network and server errors only (PUT is idempotent); a refused answer is shown at once.
        if ((err.status && err.status < 500) || attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 400 * 2 ** attempt));
      }
    }
  }

  const playedKey = () => `emsync-played-${token}-${position}`;
  function loadPlayed() {
    try { return JSON.parse(sessionStorage.getItem(playedKey())) || { A: false, B: false }; }
    catch { return { A: false, B: false }; }
  }
  function savePlayed() {
    try { sessionStorage.setItem(playedKey(), JSON.stringify(played)); } catch { /* private mode: fine */ }
  }

  function status(text, isError = false) {
    const el = $("save-status");
    el.textContent = text;
    el.classList.toggle("error", isError);
  }

  function complete(value) {
    return value !== undefined && (mode === "choice" || (value.A && value.B));
  }

  function updateControls() {
    const ready = !requireFullPlay || (played.A && played.B);
    for (const fs of document.querySelectorAll("fieldset.criterion")) fs.disabled = !ready;
    $("next").disabled = !(ready && current.criteria.every((key) => complete(current.answers[key])));
    const missing = ["A", "B"].filter((s) => !played[s]).map((s) => `soundtrack ${s}`);
    $("play-status").textContent = ready ? "Answer every question, then go to the next video."
      : `Play both soundtracks to the end to answer (${missing.join(" and ")} still to play).`;
  }

  function startItem(pos) {
    position = pos;
    current = state.items.find((i) => i.position === pos);
    $("item-number").textContent = `${pos} of ${state.n_items}`;
    played = Object.keys(current.answers).length ? { A: true, B: true } : loadPlayed();
    player.pause();
    player.removeAttribute("src");
    player.dataset.slot = "";
    player.load();
    for (const s of ["A", "B"]) $(`play-${s}`).setAttribute("aria-pressed", "false");
    for (const fs of document.querySelectorAll("fieldset.criterion")) {
      fs.hidden = !current.criteria.includes(fs.dataset.key); // e.g. no cut-timing question without cuts
      const value = current.answers[fs.dataset.key];
      for (const input of fs.querySelectorAll("input")) {
        if (mode === "choice") input.checked = value === input.value;
        else input.checked = !!value && String(value[input.name.slice(-1)]) === input.value;
      }
    }
    status("");
    showPlayed();
    updateControls();
  }

  function render() {
    $("progress").textContent = `${state.n_done} of ${state.n_items} done`;
    $("intake").hidden = state.intake_done;
    $("trial").hidden = !state.intake_done || state.complete;
    $("done").hidden = !state.complete;
    $("under-way").hidden = state.complete; // the finished page is just the thanks
    if (state.complete) status("");
    if (state.intake_done && !state.complete && position !== state.next_position) {
      startItem(state.next_position);
      $("play-A").focus();
    }
  }

  async function refresh() {
    state = await call("GET", "/state");
    render();
  }

  function play(slot) {
    if ($("trial").hidden) return;
    if (player.dataset.slot !== slot) {
      player.src = `${api}/items/${position}/media/${slot}`;
      player.dataset.slot = slot;
    } else {
      player.currentTime = 0;
    }
    for (const s of ["A", "B"]) $(`play-${s}`).setAttribute("aria-pressed", String(s === slot));
    player.play().catch(() => { $("play-status").textContent = "Press play on the video."; });
  }

  function showPlayed() {
    app.dataset.playedA = String(played.A);
    app.dataset.playedB = String(played.B);
  }

  // Share of the soundtrack actually played (a seek to the end plays almost nothing; the server
  // applies the same rule from when it sent the file).
  function playedShare() {
    let seconds = 0;
    for (let i = 0; i < player.played.length; i++) seconds += player.played.end(i) - player.played.start(i);
    return player.duration > 0 ? seconds / player.duration : 0;
  }

  // "Played to the end" is also taken from the last progress events: switching soundtrack right at the
  // end would otherwise drop the pending "ended" event with the old source.
  function markPlayed() {
    const slot = player.dataset.slot;
    if (!slot || played[slot]) return;
    const atEnd = player.ended || (player.duration > 0 && player.currentTime >= player.duration - 0.3);
    if (atEnd && playedShare() >= 0.9) {
      played[slot] = true;
      savePlayed();
      showPlayed();
      updateControls();
    }
  }
  player.addEventListener("ended", markPlayed);
  player.addEventListener("timeupdate", markPlayed);
  for (const s of ["A", "B"]) $(`play-${s}`).addEventListener("click", () => play(s));
  document.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === "1") play("A");
    if (ev.key === "2") play("B");
  });

  function save(key, body) {
    const pos = position;
    const item = current;
    status("Saving…");
    saves = saves.then(async () => {
      try {
        await call("PUT", `/items/${pos}/answers/${encodeURIComponent(key)}`, body);
        item.answers[key] = mode === "choice" ? body.choice : { A: body.score_first, B: body.score_second };
        status("Saved.");
      } catch (err) {
        status(`Not saved: ${err.message}. Please answer again.`, true);
      }
      if (item === current) updateControls();
    });
  }

  $("answers").addEventListener("change", (ev) => {
    const fs = ev.target.closest("fieldset.criterion");
    if (!fs) return;
    const key = fs.dataset.key;
    if (mode === "choice") {
      save(key, { choice: ev.target.value });
      return;
    }
    const a = fs.querySelector(`input[name="${key}-A"]:checked`);
    const b = fs.querySelector(`input[name="${key}-B"]:checked`);
    if (a && b) save(key, { score_first: Number(a.value), score_second: Number(b.value) });
  });

  $("answers").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await saves;
    try { await refresh(); } catch (err) { status(`Could not load the next video: ${err.message}`, true); }
  });

  $("intake-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const choice = new FormData(ev.target).get("music_trained");
    try {
      await call("POST", "/intake", { music_trained: choice === "yes" });
      await refresh();
    } catch (err) {
      status(`Not saved: ${err.message}`, true);
    }
  });

  refresh().catch((err) => { $("progress").textContent = `Could not load the study: ${err.message}`; });
})();
