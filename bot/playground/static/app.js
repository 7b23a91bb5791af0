// The playground page: a person's phone and the mediators' desk, both talking to the local
// assistant through /webhooks/playground/api (bot/playground/). No build step,
// no library: plain DOM, text only (never innerHTML with what the server sends).
"use strict";

(function () {
  const API = "/webhooks/playground/api";
  const WAIT_S = 20;
  const STORE_KEY = "prim-playground";

  const EXAMPLES = {
    fr: ["Bonjour", "Je cherche un médecin à Agadir", "Je veux parler à une personne", "Merci"],
    "ary-Latn": ["Salam", "bghit tbib f agadir", "bghit nhder m3a chi wahed", "choukran"],
    ar: ["مرحبا", "أبحث عن طبيب في أكادير", "أريد التحدث مع شخص", "شكرا"],
    en: ["Hello", "I need a doctor in Oujda", "I want to talk to a person", "Thank you"],
    es: ["Hola", "Busco un médico en Nador", "Quiero hablar con una persona", "Gracias"],
  };
  const PLACEHOLDERS = {
    fr: "Écrire un message",
    "ary-Latn": "Kteb message",
    ar: "اكتب رسالة",
    en: "Write a message",
    es: "Escribe un mensaje",
  };
  const MEDIA_LABELS = {
    voice: "🎤 Note vocale",
    image: "🖼️ Photo",
    document: "📄 Document",
    sticker: "🙂 Autocollant",
    video: "🎬 Vidéo",
    location: "📍 Position",
  };
  const MODE_LABELS = { whatsapp: "WhatsApp", telegram: "Telegram" };

  const $ = (id) => document.getElementById(id);
  const state = {
    session: null,
    mode: "whatsapp",
    personCursor: 0,
    deskCursor: 0,
    personLoop: null,
    unread: { phone: 0, desk: 0 },
    counter: 0,
  };

  // --- small helpers -------------------------------------------------------------------
  function clientId() {
    state.counter += 1;
    const random = Math.random().toString(36).slice(2, 10);
    return `c${Date.now().toString(36)}${state.counter}${random}`;
  }

  async function call(method, path, body, signal) {
    // The page's token (bot/playground/access.py, CsrfTokens): proves the call comes
    // from this page, not from another one open in the browser.
    const token = document.querySelector('meta[name="playground-token"]');
    const options = { method, headers: { "X-Playground-Token": token ? token.content : "" }, signal };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const resp = await fetch(API + path, options);
    let data = {};
    try {
      data = await resp.json();
    } catch (_err) {
      data = {};
    }
    if (!resp.ok) {
      const error = new Error(data.error || `HTTP ${resp.status}`);
      error.status = resp.status;
      throw error;
    }
    return data;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // "*bold*" as WhatsApp and Telegram show it; everything else as plain text.
  function richText(element, text) {
    const parts = String(text || "").split(/(\*[^*\n]+\*)/g);
    for (const part of parts) {
      if (part.length > 2 && part.startsWith("*") && part.endsWith("*")) {
        const bold = document.createElement("b");
        bold.textContent = part.slice(1, -1);
        element.appendChild(bold);
      } else if (part) {
        element.appendChild(document.createTextNode(part));
      }
    }
  }

  function render(log, entry, onButton) {
    const item = document.createElement("li");
    item.className = `msg ${entry.role} kind-${entry.kind}`;
    item.dataset.id = entry.id;
    if (entry.image_url && /^(https:|data:image\/)/.test(entry.image_url)) {
      const image = document.createElement("img");
      image.src = entry.image_url;
      image.alt = "";
      item.appendChild(image);
    }
    const label = entry.media ? MEDIA_LABELS[entry.media.kind] : entry.location ? MEDIA_LABELS.location : null;
    if (label) {
      const tag = document.createElement("span");
      tag.className = "media";
      tag.textContent = label + (entry.media ? " (simulé)" : "");
      item.appendChild(tag);
    }
    if (entry.text) {
      const text = document.createElement("div");
      text.className = "text";
      text.dir = "auto";
      richText(text, entry.text);
      item.appendChild(text);
    }
    if (entry.buttons && entry.buttons.length) {
      const row = document.createElement("div");
      row.className = "buttons";
      for (const button of entry.buttons) {
        const element = document.createElement("button");
        element.type = "button";
        element.dir = "auto";
        element.textContent = button.title;
        element.dataset.data = button.data;
        element.addEventListener("click", () => onButton(button));
        row.appendChild(element);
      }
      item.appendChild(row);
    }
    const time = document.createElement("time");
    time.textContent = new Date(entry.at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
    item.appendChild(time);
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 120;
    log.appendChild(item);
    if (atBottom || entry.role !== "bot") log.scrollTop = log.scrollHeight;
    return item;
  }

  function notice(log, text) {
    render(log, { id: 0, role: "notice", kind: "text", text, at: Date.now() / 1000 }, () => {});
  }

  function bump(tab, count) {
    if (document.body.dataset.tab === tab) return;
    state.unread[tab] += count;
    const badge = $(`badge-${tab}`);
    badge.textContent = String(state.unread[tab]);
    badge.hidden = state.unread[tab] === 0;
  }

  // --- the person's phone ----------------------------------------------------------------
  function setMode(mode) {
    state.mode = mode;
    $("phone").dataset.mode = mode;
    $("mode-label").textContent = MODE_LABELS[mode];
    $("mode-select").value = mode;
  }

  function setLanguage(lang) {
    const input = $("person-input");
    input.lang = lang;
    input.dir = lang === "ar" ? "rtl" : "auto";
    input.placeholder = PLACEHOLDERS[lang] || PLACEHOLDERS.fr;
    const box = $("examples");
    box.replaceChildren();
    box.dir = lang === "ar" ? "rtl" : "ltr";
    for (const text of EXAMPLES[lang] || EXAMPLES.fr) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.dir = "auto";
      chip.textContent = text;
      chip.addEventListener("click", () => sendPerson({ kind: "text", text }));
      box.appendChild(chip);
    }
  }

  async function newSession() {
    if (state.personLoop) state.personLoop.abort();
    const firstName = $("first-name").value.trim();
    const body = { mode: $("mode-select").value };
    if (firstName) body.first_name = firstName;
    const created = await call("POST", "/sessions", body);
    state.session = created.session;
    state.personCursor = 0;
    setMode(created.mode);
    $("person-log").replaceChildren();
    sessionStorage.setItem(STORE_KEY, JSON.stringify({ session: created.session, mode: created.mode }));
    pollPerson();
  }

  async function pollPerson() {
    const controller = new AbortController();
    state.personLoop = controller;
    let delay = 500;
    while (!controller.signal.aborted) {
      try {
        const path = `/sessions/${encodeURIComponent(state.session)}/messages?after=${state.personCursor}&wait=${WAIT_S}`;
        const data = await call("GET", path, undefined, controller.signal);
        for (const entry of data.messages) {
          state.personCursor = Math.max(state.personCursor, entry.id);
          render($("person-log"), entry, pressButton);
          if (entry.role === "bot") bump("phone", 1);
        }
        delay = 500;
      } catch (err) {
        if (controller.signal.aborted) return;
        if (err.status === 404) {
          notice($("person-log"), "Session perdue (serveur redémarré ?) : nouvelle conversation.");
          newSession().catch((e) => notice($("person-log"), e.message));
          return;
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  async function sendPerson(body) {
    if (!state.session) return;
    try {
      await call("POST", `/sessions/${encodeURIComponent(state.session)}/messages`, { id: clientId(), ...body });
    } catch (err) {
      notice($("person-log"), err.message);
    }
  }

  function pressButton(button) {
    // Only Telegram shows buttons; on WhatsApp the person types the number.
    sendPerson({ kind: "callback", data: button.data, title: button.title });
  }

  function toggle(menu) {
    for (const id of ["attach-menu", "location-menu"]) {
      const element = $(id);
      element.hidden = id === menu ? !element.hidden : true;
    }
  }

  // --- the mediators' desk ----------------------------------------------------------------
  async function pollDesk() {
    let delay = 500;
    for (;;) {
      try {
        const data = await call("GET", `/desk/messages?after=${state.deskCursor}&wait=${WAIT_S}`);
        for (const entry of data.messages) {
          state.deskCursor = Math.max(state.deskCursor, entry.id);
          render($("desk-log"), entry, pressDesk);
          if (entry.role === "bot") bump("desk", 1);
        }
        delay = 500;
      } catch (_err) {
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  async function sendDesk(body) {
    try {
      await call("POST", "/desk/messages", { id: clientId(), ...body });
    } catch (err) {
      notice($("desk-log"), err.message);
    }
  }

  function pressDesk(button) {
    sendDesk({ data: button.data, title: button.title });
  }

  // --- wiring -------------------------------------------------------------------------------
  function submitOnEnter(textarea, form) {
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  function showTab(tab) {
    document.body.dataset.tab = tab;
    for (const name of ["phone", "desk"]) {
      $(`tab-${name}`).setAttribute("aria-pressed", String(name === tab));
    }
    state.unread[tab] = 0;
    $(`badge-${tab}`).hidden = true;
  }

  async function start() {
    const config = await call("GET", "/config");
    $("mediator-name").textContent = config.mediator.name;
    const outcomes = $("close-outcome");
    outcomes.replaceChildren();
    for (const outcome of config.outcomes) {
      const option = document.createElement("option");
      option.value = option.textContent = outcome;
      outcomes.appendChild(option);
    }

    setLanguage($("lang-select").value);
    $("lang-select").addEventListener("change", (e) => setLanguage(e.target.value));
    $("mode-select").addEventListener("change", () => newSession().catch((e) => notice($("person-log"), e.message)));
    $("new-session").addEventListener("click", () => newSession().catch((e) => notice($("person-log"), e.message)));
    for (const button of document.querySelectorAll(".tabs button")) {
      button.addEventListener("click", () => showTab(button.dataset.tab));
    }

    const personForm = $("person-form");
    const personInput = $("person-input");
    submitOnEnter(personInput, personForm);
    personForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = personInput.value.trim();
      if (!text) return;
      personInput.value = "";
      sendPerson({ kind: "text", text });
    });
    $("voice-btn").addEventListener("click", () => sendPerson({ kind: "voice" }));
    $("attach-btn").addEventListener("click", () => toggle("attach-menu"));
    $("location-btn").addEventListener("click", () => toggle("location-menu"));
    for (const button of document.querySelectorAll("#attach-menu [data-kind]")) {
      button.addEventListener("click", () => {
        toggle(null);
        sendPerson({ kind: button.dataset.kind });
      });
    }
    for (const button of document.querySelectorAll("#location-menu [data-place]")) {
      button.addEventListener("click", () => {
        toggle(null);
        sendPerson({
          kind: "location",
          latitude: Number(button.dataset.lat),
          longitude: Number(button.dataset.lon),
          title: button.textContent.replace("📍", "").trim(),
        });
      });
    }
    $("my-position").addEventListener("click", () => {
      toggle(null);
      if (!navigator.geolocation) {
        notice($("person-log"), "Ce navigateur ne donne pas de position.");
        return;
      }
      navigator.geolocation.getCurrentPosition(
        (pos) => sendPerson({ kind: "location", latitude: pos.coords.latitude, longitude: pos.coords.longitude }),
        (err) => notice($("person-log"), `Position indisponible : ${err.message}`),
        { timeout: 10000 },
      );
    });

    const deskForm = $("desk-form");
    const deskInput = $("desk-input");
    submitOnEnter(deskInput, deskForm);
    deskForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = deskInput.value.trim();
      if (!text) return;
      deskInput.value = "";
      sendDesk({ text });
    });
    for (const button of document.querySelectorAll(".desk-actions [data-command]")) {
      button.addEventListener("click", () => sendDesk({ text: button.dataset.command }));
    }
    $("desk-close").addEventListener("click", () => sendDesk({ text: `/close ${outcomes.value}` }));

    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
    } catch (_err) {
      saved = null;
    }
    if (saved && saved.session) {
      state.session = saved.session;
      setMode(saved.mode);
      pollPerson();
    } else {
      await newSession();
    }
    pollDesk();
    document.body.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", () => {
    start().catch((err) => notice($("person-log"), `Le bac à sable ne répond pas : ${err.message}`));
  });
})();
