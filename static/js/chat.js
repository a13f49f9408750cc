// The live page: one WebSocket at /ws/?html=1, resumed from the highest seq seen. Where
// WebSockets are blocked (some proxies), the same events arrive over the event stream
// (/events/stream/, Server-Sent Events) and sends go over REST, until a WebSocket opens again.
//
// Messages are never rendered here: each message.new frame carries `html`, rendered on the
// server from messaging/_message.html — the partial the page itself was rendered with. This
// file only places those fragments, localizes times, draws day separators and groups runs of
// messages by one sender (from the fragments' data attributes).
(function () {
  "use strict";

  var app = document.getElementById("app");
  if (!app || !("WebSocket" in window)) return; // without a socket, the htmx form post still sends

  var userId = Number(app.dataset.userId);
  var roomId = app.dataset.roomId ? Number(app.dataset.roomId) : null;
  var lastSeq = Number(app.dataset.seq) || 0;
  var list = document.getElementById("messages");
  var composer = document.getElementById("composer");
  var banner = document.getElementById("connection-banner");
  var pill = document.getElementById("new-messages-pill");
  var announcer = document.getElementById("live-announcer");
  var pendingTemplate = document.getElementById("pending-message");

  var socket = null;
  var ready = false; // hello received on the current socket
  var everConnected = false;
  var attempts = 0;
  var pingTimer = null;
  var deadline = null; // set while an answer is due (hello, pong): missed, the socket is dead
  // A hung connection (a frozen server, a black-holed network) raises no error in the browser:
  // it is found by a ping every PING_MS that must be answered (by anything) within PONG_MS.
  var PING_MS = Number(app.dataset.pingMs) || 15000;
  var PONG_MS = Number(app.dataset.pongMs) || 10000;
  // Fallback: after FALLBACK_AFTER sockets in a row close before their hello, receive over the
  // event stream; try a WebSocket again after RETRY_MS (doubling), and switch back when one opens.
  var FALLBACK_AFTER = Number(app.dataset.wsFallbackAfter) || 3;
  var RETRY_MS = Number(app.dataset.wsRetryMs) || 30000;
  // The event stream sends a heartbeat event this often: a stream silent for 2.5 of them has
  // stalled (a connection that stopped carrying without closing) and is replaced.
  var STREAM_HEARTBEAT_MS = Number(app.dataset.sseHeartbeatMs) || 30000;
  var transport = "websocket"; // or "events": the event stream in, REST out
  var stream = null; // the EventSource, on the event stream
  var failedOpens = 0;
  var probeDelay = RETRY_MS;
  var probeTimer = null;
  var transportNote = document.getElementById("transport-status");
  // client_id -> {el, body, acked, waiting, replyTo}; ``waiting``: not sent yet, goes when the
  // connection is back (same client_id, so the server stores it once whatever reached it).
  var pending = new Map();
  var unread = Object.create(null); // room id -> {last_read, unread, unread_capped, mentions} (GET /api/unread/)
  var UNREAD_CAP = 100; // the server counts up to this many; shown as "99+"
  var baseTitle = document.title;

  // -- time, day separators, grouping ---------------------------------------------------------

  // Times in the user's chosen zone and clock (profile), else the browser's own. Every time on
  // the page, rendered with it or pushed live, is formatted here, so they all agree.
  function timeOptions(options) {
    if (app.dataset.timeZone) options.timeZone = app.dataset.timeZone;
    if (app.dataset.clock === "12" || app.dataset.clock === "24") options.hour12 = app.dataset.clock === "12";
    return options;
  }
  var timeFmt = new Intl.DateTimeFormat(undefined, timeOptions({ hour: "numeric", minute: "2-digit" }));
  var fullFmt = new Intl.DateTimeFormat(undefined, timeOptions({ dateStyle: "full", timeStyle: "medium" }));
  var dayFmt = new Intl.DateTimeFormat(undefined, timeOptions({ weekday: "long", month: "long", day: "numeric", year: "numeric" }));
  var dayKeyFmt = new Intl.DateTimeFormat("en-CA", timeOptions({ year: "numeric", month: "2-digit", day: "2-digit" }));
  var GROUP_GAP_MS = 5 * 60 * 1000;

  function dayKey(d) {
    return dayKeyFmt.format(d); // the calendar day in the shown zone
  }

  function dayLabel(d) {
    var now = new Date();
    if (dayKey(d) === dayKey(now)) return "Today";
    if (dayKey(d) === dayKey(new Date(now.getTime() - 24 * 3600 * 1000))) return "Yesterday";
    return dayFmt.format(d);
  }

  function messageDate(li) {
    var d = new Date(li.dataset.createdAt);
    return isNaN(d.getTime()) ? new Date() : d;
  }

  function localize(li) {
    var time = li.querySelector("time");
    if (!time || time.dataset.localized === li.dataset.createdAt) return;
    var d = messageDate(li);
    time.textContent = timeFmt.format(d);
    time.title = fullFmt.format(d);
    time.dataset.localized = li.dataset.createdAt;
  }

  function relayout() {
    if (!list) return;
    list.querySelectorAll(".day-separator").forEach(function (sep) {
      sep.remove();
    });
    var prev = null;
    list.querySelectorAll("li.message").forEach(function (li) {
      decorate(li);
      localize(li);
      var d = messageDate(li);
      var key = dayKey(d);
      if (!prev || prev.key !== key) {
        var sep = document.createElement("li");
        sep.className = "day-separator"; // a list item ("Today"): an <ol> holds list items only
        var label = document.createElement("span");
        label.textContent = dayLabel(d);
        sep.appendChild(label);
        li.before(sep);
      }
      var grouped = prev && prev.key === key && prev.sender === li.dataset.senderId && d - prev.time < GROUP_GAP_MS;
      li.classList.toggle("grouped", Boolean(grouped));
      prev = { key: key, sender: li.dataset.senderId, time: d };
    });
  }

  // -- what depends on who is looking ---------------------------------------------------------
  // A message is rendered once for everyone; the marks for this viewer are set here.

  var room = document.querySelector(".room");
  var canManage = Boolean(room && room.hasAttribute("data-can-manage"));

  function hasUser(list, id) {
    return (list || "").split(",").indexOf(String(id)) !== -1;
  }

  // Users this viewer blocked: their messages collapse behind a button (no text shows until asked).
  var blockedUsers = app.dataset.blockedUsers || "";

  function collapseBlocked(li) {
    var blocked = Boolean(li.dataset.senderId) && hasUser(blockedUsers, li.dataset.senderId) && !li.classList.contains("revealed");
    li.classList.toggle("blocked-sender", blocked);
    var reveal = li.querySelector(".reveal-blocked");
    if (blocked && !reveal) {
      reveal = document.createElement("button");
      reveal.type = "button";
      reveal.className = "link-btn reveal-blocked";
      reveal.textContent = "Message from someone you blocked: show";
      li.insertBefore(reveal, li.querySelector(".message-body"));
    } else if (!blocked && reveal) {
      reveal.remove();
    }
  }

  // The member panel says whom this viewer blocks now (after Block / Unblock there).
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var marker = document.getElementById("blocked-users");
    if (!marker || !event.detail || !event.detail.target || event.detail.target.id !== "member-panel") return;
    if (marker.dataset.users === blockedUsers) return;
    blockedUsers = marker.dataset.users;
    document.querySelectorAll("li.message").forEach(decorate);
  });

  // A mute ends by itself, with no event: the panel asks the server again when the first mute it
  // shows ends (the end is the server's, in each "Muted until"), so it never shows a past one.
  var muteEndTimer = null;
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail || !event.detail.target || event.detail.target.id !== "member-panel") return;
    clearTimeout(muteEndTimer);
    var ends = Array.prototype.map.call(event.detail.target.querySelectorAll(".member-muted time[datetime]"), function (t) {
      return new Date(t.getAttribute("datetime")) - new Date();
    });
    if (!ends.length) return;
    var first = Math.max(0, Math.min.apply(null, ends));
    muteEndTimer = setTimeout(function () {
      htmx.trigger(document.body, "parley:members");
    }, Math.min(first + 500, 2147483000));
  });

  document.addEventListener("click", function (event) {
    var reveal = event.target.closest && event.target.closest(".reveal-blocked");
    if (!reveal) return;
    var li = reveal.closest("li.message");
    li.classList.add("revealed");
    collapseBlocked(li);
  });

  function decorate(li) {
    li.dataset.decorated = "";
    collapseBlocked(li);
    li.classList.toggle("own", li.dataset.senderId === String(userId));
    li.classList.toggle("manageable", canManage);
    li.classList.toggle("mentions-me", hasUser(li.dataset.mentions, userId) || li.hasAttribute("data-mentions-room"));
    li.querySelectorAll(".reaction").forEach(function (button) {
      var mine = hasUser(button.dataset.users, userId);
      button.setAttribute("aria-pressed", String(mine));
      button.classList.toggle("mine", mine);
    });
    li.querySelectorAll(".mention[data-user-id]").forEach(function (span) {
      span.classList.toggle("me", span.dataset.userId === String(userId));
    });
  }

  // -- scrolling --------------------------------------------------------------------------------

  function nearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function toBottom() {
    list.scrollTop = list.scrollHeight;
    if (pill) pill.hidden = true;
  }

  // -- connection state -------------------------------------------------------------------------

  function showBanner(text) {
    if (!banner) return;
    banner.textContent = text;
    banner.hidden = !text;
  }

  function setComposerEnabled(enabled) {
    if (!composer) return;
    var blocked = Boolean(postingRefusal());
    composer.querySelectorAll("textarea, button").forEach(function (control) {
      control.disabled = !enabled || blocked;
    });
    composer.classList.toggle("offline", !enabled);
  }

  // -- who may post: a mute, a read-only or an archived room -------------------------------------
  // The composer carries the room's rules and this member's mute (rendered by the server, then
  // kept current by member.updated and room.updated); while one of them refuses, it is disabled
  // and says why. A mute ends by itself: a timer enables the composer again at its end.

  var postingTimer = null;

  function postingRefusal() {
    if (!composer) return "";
    var d = composer.dataset;
    if ("archived" in d) return "This room is archived: nobody can post in it.";
    var until = d.mutedUntil ? new Date(d.mutedUntil) : null;
    if (until && until > new Date()) {
      var where = d.muteScope === "site" ? "on this site" : "in this room";
      return "You are muted " + where + " until " + until.toLocaleString() + "." + (d.muteReason ? " Reason: " + d.muteReason : "");
    }
    if ("readOnly" in d && !("canManage" in d)) return "Only owners and admins can post in this room.";
    return "";
  }

  function applyPosting() {
    if (!composer) return;
    var reason = postingRefusal();
    var note = document.getElementById("composer-blocked");
    if (note) {
      note.textContent = reason;
      note.hidden = !reason;
    }
    composer.classList.toggle("blocked", Boolean(reason));
    setComposerEnabled(!composer.classList.contains("offline"));
    clearTimeout(postingTimer);
    var left = composer.dataset.mutedUntil ? new Date(composer.dataset.mutedUntil) - new Date() : 0;
    if (left > 0) postingTimer = setTimeout(applyPosting, Math.min(left + 500, 2147483000));
  }

  function setFlag(el, name, on) {
    if (!el) return;
    if (on) el.dataset[name] = "";
    else delete el.dataset[name];
  }

  function socketUrl() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + location.host + "/ws/?html=1&since=" + lastSeq;
  }

  function connect() {
    ready = false;
    socket = openSocket(null);
    answerWithin(PONG_MS); // the handshake and hello, too, or this attempt is given up
  }

  // ``first``, if given, hears the socket's first frame before anything else does.
  function openSocket(first) {
    var current = new WebSocket(socketUrl());
    if (first) current.addEventListener("message", first, { once: true });
    current.addEventListener("message", function (event) {
      if (current !== socket) return; // a socket given up as hung, heard from at last
      clearTimeout(deadline); // anything heard answers the ping
      deadline = null;
      handleText(event.data);
    });
    current.addEventListener("close", function (event) {
      if (current === socket) lost(event.code);
    });
    return current;
  }

  // One frame as received, over either transport.
  function handleText(text) {
    var frame;
    try {
      frame = JSON.parse(text);
    } catch (_) {
      return;
    }
    handle(frame);
  }

  function answerWithin(ms) {
    clearTimeout(deadline);
    deadline = setTimeout(hung, ms);
  }

  function ping() {
    // An answer already due keeps its deadline: pings must not push it on.
    if (send({ type: "ping" }) && deadline === null) answerWithin(PONG_MS);
  }

  // No answer in time: treat the socket as dropped now, rather than when TCP gives up on it.
  function hung() {
    var dead = socket;
    if (!dead) return;
    lost(1006);
    try {
      dead.close();
    } catch (_) {}
  }

  function lost(code) {
    var opened = ready;
    socket = null;
    offline();
    if (leaving) return;
    if (code === 4401 || code === 4403) {  // signed out, or account deactivated
      signedOut();
      return;
    }
    failedOpens = opened ? 0 : failedOpens + 1;
    if (failedOpens >= FALLBACK_AFTER) useStream();
    else reconnectLater();
  }

  function offline() {
    ready = false;
    clearInterval(pingTimer);
    clearTimeout(deadline);
    deadline = null;
    setComposerEnabled(false);
    pending.forEach(function (entry, clientId) {
      if (!entry.acked && !entry.el.classList.contains("failed")) markWaiting(clientId);
    });
  }

  function signedOut() {
    location.assign("/login/?next=" + encodeURIComponent(location.pathname));
  }

  // -- the fallback: the event stream in, REST out ---------------------------------------------

  function useStream() {
    transport = "events";
    openStream();
    scheduleProbe();
  }

  function openStream() {
    ready = false;
    var url = "/events/stream/?html=1&since=" + lastSeq + (roomId !== null ? "&room=" + roomId : "");
    var current = new EventSource(url);
    stream = current;
    var heard = Date.now();
    ["open", "message", "heartbeat"].forEach(function (name) {
      current.addEventListener(name, function () {
        heard = Date.now();
      });
    });
    var watch = setInterval(function () {
      if (current !== stream) clearInterval(watch);
      else if (Date.now() - heard > STREAM_HEARTBEAT_MS * 2.5) streamLost(0);
    }, STREAM_HEARTBEAT_MS / 2);
    current.addEventListener("message", function (event) {
      if (current === stream) handleText(event.data);
    });
    // The server ends a stream with the WebSocket's close code (1013: come back; 4403: do not).
    current.addEventListener("close", function (event) {
      if (current !== stream) return;
      var code = 0;
      try {
        code = JSON.parse(event.data).code;
      } catch (_) {}
      streamLost(code);
    });
    current.addEventListener("error", function () {
      if (current !== stream) return;
      // CONNECTING: the browser reconnects by itself, resuming from Last-Event-ID.
      if (current.readyState === EventSource.CLOSED) streamLost(0);
      else {
        offline();
        showBanner("Connection lost. Reconnecting…");
      }
    });
  }

  function streamLost(code) {
    if (stream) stream.close();
    stream = null;
    offline();
    if (leaving) return;
    if (code === 4403) return signedOut();
    showBanner("Connection lost. Reconnecting…");
    setTimeout(function () {
      if (transport === "events" && stream === null) openStream();
    }, 1000 + Math.random() * 2000);
  }

  // While on the event stream, a WebSocket is tried now and then; the first that says hello
  // takes over (its since is the page's cursor, and frames already seen are skipped).
  function scheduleProbe() {
    clearTimeout(probeTimer);
    probeTimer = setTimeout(probe, probeDelay * (0.75 + Math.random() / 2));
    probeDelay = Math.min(probeDelay * 2, RETRY_MS * 8);
  }

  function probe() {
    if (transport !== "events" || leaving) return;
    var candidate;
    var timer = setTimeout(function () {
      candidate.close();
    }, PONG_MS);
    candidate = openSocket(function () {
      clearTimeout(timer);
      if (transport !== "events") return candidate.close();
      var old = stream;
      stream = null;
      if (old) old.close();
      transport = "websocket";
      failedOpens = 0;
      probeDelay = RETRY_MS;
      socket = candidate; // its hello, heard next, makes it the page's connection
    });
    candidate.addEventListener("close", function () {
      clearTimeout(timer);
      if (candidate !== socket && transport === "events") scheduleProbe();
    });
  }

  function showTransport() {
    if (!transportNote) return;
    transportNote.hidden = false;
    transportNote.dataset.transport = transport;
    transportNote.textContent =
      transport === "events"
        ? "Live over the fallback event stream (WebSockets are unavailable here)."
        : "Live over WebSocket.";
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    });
  }

  // A frame of the socket's protocol, over REST (the same services). False: not sent.
  function sendOverRest(frame) {
    var rooms = "/api/rooms/" + frame.room;
    switch (frame.type) {
      case "message.send":
        var body = { body: frame.body, client_id: frame.client_id };
        if (frame.reply_to) body.reply_to = frame.reply_to;
        if (frame.attachments) body.attachments = frame.attachments;
        post(rooms + "/messages/", body)
          .then(function (response) {
            return response.json().then(function (data) {
              if (response.ok) {
                handle({ type: "message.ack", client_id: frame.client_id, duplicate: response.status === 200, message: data });
              } else {
                markFailed(frame.client_id, data.detail || "Not sent.");
              }
            });
          })
          .catch(function () {
            markFailed(frame.client_id, "Not sent: the server could not be reached.");
          });
        return true;
      case "read":
      case "delivered":
        post(rooms + "/" + frame.type + "/", { message: frame.message }).catch(function () {});
        return true;
      case "typing.start":
      case "typing.stop":
        post(rooms + "/typing/", { typing: frame.type === "typing.start" }).catch(function () {});
        return true;
      default:
        return false; // ping, presence, room.open: the stream has no use for them
    }
  }

  function reconnectLater() {
    // Exponential backoff with jitter: 0.5 s, 1 s, 2 s … capped at 10 s.
    var delay = Math.min(10000, 500 * Math.pow(2, attempts)) * (0.5 + Math.random() / 2);
    attempts += 1;
    showBanner("Connection lost. Reconnecting…");
    setTimeout(connect, delay);
  }

  function send(frame) {
    if (transport === "events") return ready && stream !== null && sendOverRest(frame);
    if (socket && ready && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  // -- frames -----------------------------------------------------------------------------------

  // Event kinds come from the page (declared once, in chatsite/realtime/kinds.py): for each, whether
  // it is stored (has a seq) and which handler below the page gives it.
  var KINDS = JSON.parse(app.dataset.eventKinds || "{}");
  var CLIENT = {
    message: onMessageNew,
    "message-update": onMessageUpdate,
    membership: onMember,
    typing: onTyping,
    read: onRead,
    "room-update": onRoomUpdate,
    presence: onPresence,
    receipt: onReceipt,
    "member-update": onMemberUpdate,
    "account-mute": onAccountMute,
    blocks: onBlocks
  };

  function handle(frame) {
    var kind = KINDS[frame.type];
    if (kind) {
      // Only stored events move the cursor (not acks, whose event may still be on its way).
      // One connection never repeats an event; two, while switching transports, may.
      if (kind.stored && typeof frame.seq === "number") {
        if (frame.seq <= lastSeq) return;
        lastSeq = frame.seq;
      }
      if (CLIENT[kind.client]) CLIENT[kind.client](frame);
      showReceipts();
      return;
    }
    switch (frame.type) {
      case "hello":
        ready = true;
        everConnected = true;
        attempts = 0;
        failedOpens = 0;
        showBanner("");
        showTransport();
        setComposerEnabled(true);
        clearInterval(pingTimer);
        // The event stream has its own heartbeats, and the browser reconnects it by itself.
        if (transport === "websocket") pingTimer = setInterval(ping, PING_MS);
        // Typing is sent only to sockets that show the room: say which one this page shows
        // (the event stream names it in its URL).
        if (roomId !== null) send({ type: "room.open", room: roomId });
        // What could not be sent while the connection was away goes now, in the order written.
        pending.forEach(function (entry, clientId) {
          if (entry.waiting) transmit(clientId);
        });
        loadUnread(); // what was read elsewhere while this socket was away
        activeSent = true; // what the server assumes of a new socket
        reportPresence();
        lastReadSent = 0;
        flushRead();
        break;
      case "message.ack":
        onAck(frame);
        break;
      case "error":
        if (frame.client_id && pending.has(frame.client_id)) markFailed(frame.client_id, frame.detail);
        if (frame.code === "read_failed") {
          lastReadSent = 0; // not recorded: report it again
          setTimeout(scheduleRead, 5000);
        }
        break;
      case "resync":
        location.reload();
        break;
    }
  }

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function onMessageNew(frame) {
    var m = frame.message;
    var mine = Boolean(m.sender && m.sender.id === userId);
    if (!mine) {
      countUnread(m);
      ackDelivered(m.room, m.id);
      maybeNotify(m);
    }
    if (roomId === null || m.room !== roomId || !list) {
      bumpRoom(m.room);
      return;
    }
    if (m.sender) stopTyping(m.sender.id); // sending ends typing
    replaceCopies(frame); // in an open thread
    if (document.getElementById("msg-" + m.id)) return; // on the page already
    if (list.querySelector(".history-newer")) return; // reading older history: it will load on scroll
    var el = fragment(frame.html);
    htmx.process(el);
    var entry = mine ? pending.get(m.client_id) : null;
    var pinned = nearBottom();
    if (entry) {
      entry.el.replaceWith(el);
      pending.delete(m.client_id);
    } else {
      list.appendChild(el);
    }
    relayout();
    if (pinned || mine) toBottom();
    else if (pill) pill.hidden = false;
    if (!mine && announcer) {
      var who = el.querySelector(".sender");
      var body = el.querySelector(".message-body");
      announcer.textContent = (who ? who.textContent : "") + ": " + (body ? body.textContent : "").slice(0, 200);
    }
    bumpRoom(m.room);
    watchRead(el);
  }

  function onMessageUpdate(frame) {
    // An edit, a reaction, a reply count, a deletion: every copy on the page is replaced.
    replaceCopies(frame);
    relayout();
  }

  function replaceCopies(frame) {
    var m = frame.message;
    document.querySelectorAll('li.message[data-id="' + m.id + '"]').forEach(function (old) {
      var el = fragment(frame.html);
      el.id = old.id; // the thread panel's copy keeps its own id
      if (old.classList.contains("editing")) return; // do not throw away an edit in progress
      old.replaceWith(el);
      htmx.process(el);
      decorate(el);
      localize(el);
      watchRead(el);
    });
    var thread = document.querySelector('.thread-messages[data-thread-root="' + (m.reply_to || "") + '"]');
    if (thread && frame.type && KINDS[frame.type].client === "message" && !thread.querySelector('[data-id="' + m.id + '"]')) {
      var reply = fragment(frame.html);
      reply.id = "thread-msg-" + m.id;
      thread.appendChild(reply);
      htmx.process(reply);
      decorate(reply);
      localize(reply);
    }
  }

  function onAck(frame) {
    var entry = pending.get(frame.client_id);
    if (!entry) return;
    entry.acked = true;
    if (frame.message && document.getElementById("msg-" + frame.message.id)) {
      entry.el.remove(); // a retry of a message that is already shown
      pending.delete(frame.client_id);
    }
  }

  function onMember(frame) {
    var room = frame.room || {};
    var aboutMe = frame.user && frame.user.id === userId;
    if (aboutMe) htmx.trigger(document.body, "parley:sidebar");
    if (room.id !== roomId) return;
    if (aboutMe && KINDS[frame.type].subscription === "leave") {
      showBanner("You are no longer a member of this room.");
      setComposerEnabled(false);
      return;
    }
    htmx.trigger(document.body, "parley:members");
  }

  // A member's role or mute changed: about this user, the composer follows at once.
  function onMemberUpdate(frame) {
    var room = frame.room || {};
    if (room.id !== roomId) return;
    if (frame.user && frame.user.id === userId && composer) {
      // A site-wide mute (by a site moderator) outranks the room's while it lasts: it stays shown.
      if (!siteMuted() && frame.muted_until) {
        composer.dataset.mutedUntil = frame.muted_until;
        composer.dataset.muteReason = frame.mute_reason || "";
        delete composer.dataset.muteScope;
      } else if (!siteMuted()) {
        delete composer.dataset.mutedUntil;
        delete composer.dataset.muteReason;
        delete composer.dataset.muteScope;
      }
      var manages = frame.role === "owner" || frame.role === "admin";
      setFlag(composer, "canManage", manages);
      setFlag(document.querySelector(".room"), "canManage", manages);
      if (manages !== canManage) {
        canManage = manages;
        document.querySelectorAll("li.message").forEach(decorate);
      }
      applyPosting();
    }
    htmx.trigger(document.body, "parley:members");
  }

  function siteMuted() {
    var d = composer ? composer.dataset : {};
    return d.muteScope === "site" && Boolean(d.mutedUntil) && new Date(d.mutedUntil) > new Date();
  }

  // A site moderator muted this account everywhere: the composer of every tab disables at once.
  function onAccountMute(frame) {
    if (!composer || !frame.muted_until) return;
    composer.dataset.mutedUntil = frame.muted_until;
    composer.dataset.muteReason = frame.mute_reason || "";
    composer.dataset.muteScope = "site";
    applyPosting();
  }

  // This person blocked or unblocked someone (here or in another tab): collapse or show again.
  function onBlocks(frame) {
    blockedUsers = (frame.blocked || []).join(",");
    document.querySelectorAll("li.message").forEach(decorate);
    if (document.getElementById("blocked-users")) htmx.trigger(document.body, "parley:members");
  }

  // -- room settings ----------------------------------------------------------------------------

  // A room's name, topic or description changed: the sidebar and, in that room, the header follow.
  function onRoomUpdate(frame) {
    var settings = frame.room || {};
    htmx.trigger(document.body, "parley:sidebar");
    if (settings.id !== roomId) return;
    var title = document.getElementById("room-title");
    if (title && settings.name) {
      baseTitle = baseTitle.replace(title.textContent, settings.name);
      title.textContent = settings.name;
      showTitle(); // "(unread) name · Parley"
    }
    [["room-topic", settings.topic], ["room-description", settings.description]].forEach(function (pair) {
      var el = document.getElementById(pair[0]);
      if (!el) return;
      el.textContent = pair[1] || "";
      el.hidden = !pair[1];
    });
    if (composer && "read_only" in settings) {
      setFlag(composer, "readOnly", settings.read_only);
      setFlag(composer, "archived", settings.archived);
      applyPosting();
    }
  }

  // -- sidebar ----------------------------------------------------------------------------------

  function bumpRoom(id) {
    var item = document.getElementById("sidebar-room-" + id);
    if (!item) {
      htmx.trigger(document.body, "parley:sidebar"); // a room this page has not listed yet
      return;
    }
    item.parentElement.prepend(item);
  }

  // -- unread counts and mention badges -------------------------------------------------------
  // The server is the source of truth (GET /api/unread/ on every hello, read.updated whenever a
  // pointer moves, from any tab or device); a message arriving live counts one more meanwhile.

  function loadUnread() {
    fetch("/api/unread/", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : [];
      })
      .then(function (states) {
        var fresh = Object.create(null);
        states.forEach(function (state) {
          var known = unread[state.room];
          // A read.updated that overtook this answer is newer than it: keep that one.
          fresh[state.room] = known && known.last_read > state.last_read ? known : state;
        });
        unread = fresh;
        showAllUnread();
        flushRead();
      })
      .catch(function () {});
  }

  function countUnread(m) {
    var state = unread[m.room];
    if (!state) {
      // A room joined since the counts were read (a new DM, say): all of it is new to this page.
      state = unread[m.room] = { room: m.room, last_read: 0, unread: 0, unread_capped: false, mentions: 0 };
    }
    if (m.id <= state.last_read) return;
    state.unread = Math.min(UNREAD_CAP, state.unread + 1);
    state.unread_capped = state.unread >= UNREAD_CAP;
    if (hasUser((m.mentions || []).join(","), userId) || m.mentions_room) state.mentions += 1;
    showUnread(document.getElementById("sidebar-room-" + m.room));
    showTitle();
  }

  function onRead(frame) {
    unread[frame.room] = frame;
    if (frame.room === roomId && frame.last_read > lastReadSent) lastReadSent = frame.last_read;
    showUnread(document.getElementById("sidebar-room-" + frame.room));
    showTitle();
  }

  function countText(state) {
    return state.unread_capped || state.unread > 99 ? "99+" : String(state.unread);
  }

  function showUnread(item) {
    if (!item) return;
    var state = unread[item.dataset.roomId];
    var badge = item.querySelector("[data-unread]");
    var mention = item.querySelector("[data-mentions]");
    if (badge) {
      badge.querySelector(".count").textContent = state ? countText(state) : "0";
      badge.hidden = !state || !state.unread;
    }
    if (mention) mention.hidden = !state || !state.mentions;
  }

  function showTitle() {
    var total = 0;
    Object.keys(unread).forEach(function (id) {
      var item = document.getElementById("sidebar-room-" + id);
      if (!item || item.dataset.notify !== "muted") total += unread[id].unread; // muted: quietly
    });
    document.title = total ? "(" + (total > 99 ? "99+" : total) + ") " + baseTitle : baseTitle;
  }

  function showAllUnread() {
    document.querySelectorAll("#sidebar-rooms .room-item").forEach(showUnread);
    showTitle();
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "sidebar-rooms") showAllUnread();
  });

  // -- marking read what is seen ----------------------------------------------------------------
  // Only the open room, only while the tab is visible, only messages scrolled into view (at
  // least half of one, or half the list's height for a tall one). Reads go out at most every
  // READ_DELAY_MS, as one pointer: the newest message seen.

  var READ_DELAY_MS = 1000;
  var lastReadSent = 0;
  var seen = new Set(); // ids of this room's messages now in view
  var readTimer = null;
  var watched = new WeakSet();
  var readObserver =
    list && roomId !== null && "IntersectionObserver" in window
      ? new IntersectionObserver(
          function (entries) {
            entries.forEach(function (entry) {
              var id = Number(entry.target.dataset.id);
              var root = entry.rootBounds;
              var inView =
                entry.isIntersecting &&
                (entry.intersectionRatio >= 0.5 || (root && entry.intersectionRect.height >= root.height / 2));
              if (inView) seen.add(id);
              else seen.delete(id);
            });
            scheduleRead();
          },
          { root: list, threshold: [0, 0.5, 1] }
        )
      : null;

  function watchRead(li) {
    if (!readObserver || !li || !li.dataset.id || watched.has(li) || !list.contains(li)) return;
    watched.add(li);
    readObserver.observe(li);
  }

  function scheduleRead() {
    if (readTimer === null) readTimer = setTimeout(flushRead, READ_DELAY_MS);
  }

  function flushRead() {
    clearTimeout(readTimer);
    readTimer = null;
    if (!readObserver || document.visibilityState !== "visible" || !seen.size) return;
    var newest = Math.max.apply(null, Array.from(seen));
    var state = unread[roomId];
    if (newest <= lastReadSent || (state && newest <= state.last_read)) return;
    if (send({ type: "read", room: roomId, message: newest })) lastReadSent = newest;
  }

  document.addEventListener("visibilitychange", flushRead);

  // -- receipts ---------------------------------------------------------------------------------
  // Every message of others that reaches this page is acknowledged (at most one frame per room
  // per second: the newest id), so its sender sees "Delivered". Under the open room's list, the
  // latest message shows "Sent" / "Delivered" (if it is mine) or "Seen by alice, bob +3", from
  // the other members' pointers (page + receipt.updated); big rooms show a count as rendered.

  var DELIVERED_DELAY_MS = 1000;
  var deliveredDue = Object.create(null); // room id -> newest message id to acknowledge
  var deliveredTimer = null;
  var receiptLine = document.getElementById("receipt-line");
  var receipts = receiptLine ? JSON.parse(receiptLine.dataset.receipts || "null") : null;
  var pointers = new Map(); // user id -> {user, delivered, read}
  if (receipts && receipts.pointers) {
    receipts.pointers.forEach(function (p) {
      pointers.set(p.user.id, p);
    });
  }

  function ackDelivered(room, id) {
    if (!(deliveredDue[room] >= id)) deliveredDue[room] = id;
    if (deliveredTimer === null) deliveredTimer = setTimeout(flushDelivered, DELIVERED_DELAY_MS);
  }

  function flushDelivered() {
    deliveredTimer = null;
    Object.keys(deliveredDue).forEach(function (room) {
      if (send({ type: "delivered", room: Number(room), message: deliveredDue[room] })) delete deliveredDue[room];
    });
  }

  function onReceipt(frame) {
    if (frame.room !== roomId || !frame.user || frame.user.id === userId || !receipts || !receipts.pointers) return;
    pointers.set(frame.user.id, frame);
  }

  function shortList(people) {
    var names = people.map(function (p) {
      return p.user.display_name || p.user.username;
    });
    return names.length <= 2 ? names.join(", ") : names.slice(0, 2).join(", ") + " +" + (names.length - 2);
  }

  function showReceipts() {
    if (!receiptLine || !receipts || !list) return;
    var items = Array.from(list.querySelectorAll("li.message:not(.deleted)")).filter(function (li) {
      return li.dataset.id && !li.closest(".thread");
    });
    var li = items[items.length - 1];
    var text = "";
    if (li) {
      var id = Number(li.dataset.id);
      var sender = Number(li.dataset.senderId);
      if (!receipts.pointers) {
        if (id === receipts.latest && receipts.seen) text = "Seen by " + receipts.seen;
      } else {
        var others = Array.from(pointers.values()).filter(function (p) {
          return p.user.id !== sender;
        });
        var seenBy = others.filter(function (p) {
          return p.read !== null && p.read >= id;
        });
        if (seenBy.length) text = "Seen by " + shortList(seenBy);
        else if (sender === userId) {
          text = others.some(function (p) {
            return p.delivered >= id;
          })
            ? "Delivered"
            : "Sent";
        }
      }
    }
    if (receiptLine.textContent !== text) receiptLine.textContent = text;
  }

  // -- browser notifications ----------------------------------------------------------------------
  // Only while this tab is hidden, only with permission (asked from the button, a user gesture),
  // and by the room's level (the sidebar's data-notify): all; mentions only (every message of a
  // DM is for you); muted (nothing; the unread badge still counts, greyed). One notification per
  // room at a time (its tag), so several hidden tabs replace rather than repeat it.

  var notifyButton = document.getElementById("notifications-enable");
  var notifySelect = document.getElementById("notify-level");

  if (notifyButton && "Notification" in window && Notification.permission === "default") {
    notifyButton.hidden = false;
    notifyButton.addEventListener("click", function () {
      Notification.requestPermission().then(function () {
        notifyButton.hidden = Notification.permission !== "default";
      });
    });
  }

  if (notifySelect && roomId !== null) {
    notifySelect.addEventListener("change", function () {
      var item = document.getElementById("sidebar-room-" + roomId);
      if (!item) return;
      item.dataset.notify = notifySelect.value;
      item.classList.toggle("muted-room", notifySelect.value === "muted");
    });
  }

  function maybeNotify(m) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (document.visibilityState !== "hidden") return;
    var item = document.getElementById("sidebar-room-" + m.room);
    var level = item ? item.dataset.notify : "mentions";
    var direct = Boolean(item && item.dataset.kind === "direct");
    var mentioned = hasUser((m.mentions || []).join(","), userId) || m.mentions_room;
    if (level === "muted" || !(level === "all" || direct || mentioned)) return;
    var who = m.sender ? m.sender.display_name || m.sender.username : "Someone";
    var place = item ? item.querySelector(".room-name").textContent : "";
    var note = new Notification(direct || !place ? who : who + " in " + place, {
      body: (m.body || "").slice(0, 200),
      tag: "parley-room-" + m.room
    });
    note.onclick = function () {
      window.focus();
      location.assign("/r/" + m.room + "/");
    };
  }

  // -- presence ---------------------------------------------------------------------------------
  // The page reports whether its person is here: active while the tab is visible and something
  // was typed, clicked or moved within the away time; the server merges every tab and device
  // (away only when all are inactive) and pushes changes to people who share a small room.

  var AWAY_MS = (Number(app.dataset.presenceAway) || 300) * 1000;
  var lastInput = Date.now();
  var activeSent = true;

  function reportPresence() {
    var active = document.visibilityState === "visible" && Date.now() - lastInput < AWAY_MS;
    if (active !== activeSent && send({ type: "presence", active: active })) activeSent = active;
  }

  ["keydown", "pointerdown", "pointermove", "wheel", "focus"].forEach(function (name) {
    window.addEventListener(
      name,
      function () {
        lastInput = Date.now();
        if (!activeSent) reportPresence();
      },
      { passive: true, capture: true }
    );
  });
  document.addEventListener("visibilitychange", reportPresence);
  setInterval(reportPresence, Math.min(AWAY_MS / 4, 15000));

  function presenceWords(frame) {
    if (frame.state === "online") return "Online";
    if (frame.state === "away") return "Away";
    if (!frame.last_seen) return "Offline";
    var minutes = Math.floor((Date.now() / 1000 - frame.last_seen) / 60);
    return minutes < 1 ? "Last seen just now" : "Last seen " + minutes + " minutes ago";
  }

  function onPresence(frame) {
    if (typeof frame.user !== "number") return;
    document.querySelectorAll('[data-presence-user="' + frame.user + '"]').forEach(function (el) {
      el.dataset.state = frame.state;
      var text = el.querySelector(".presence-text");
      if (text) text.textContent = (el.classList.contains("presence-compact") ? ", " : "") + presenceWords(frame);
      var member = el.closest(".member");
      if (member) member.className = "member " + frame.state;
    });
  }

  // -- composer ---------------------------------------------------------------------------------

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function pendingElement(body, clientId, fileNames) {
    // A clone of the message partial rendered blank for this user: one markup for messages.
    var el = pendingTemplate.content.firstElementChild.cloneNode(true);
    el.removeAttribute("id");
    el.dataset.clientId = clientId;
    el.dataset.room = String(roomId);
    el.dataset.createdAt = new Date().toISOString();
    el.classList.add("pending");
    var target = el.querySelector(".message-body");
    target.textContent = "";
    body.split("\n").forEach(function (line, index) {
      if (index) target.appendChild(document.createElement("br"));
      target.appendChild(document.createTextNode(line));
    });
    if (fileNames && fileNames.length) {
      var files = document.createElement("div");
      files.className = "pending-files muted";
      files.textContent = "📎 " + fileNames.join(", ");
      target.appendChild(files);
    }
    setStatus(el, "Sending…");
    return el;
  }

  function setStatus(el, text, retryFor) {
    var status = el.querySelector(".message-status");
    if (!status) {
      status = document.createElement("div");
      status.className = "message-status";
      status.setAttribute("role", "status");
      el.appendChild(status); // not in .message-meta, which grouped messages hide
    }
    status.textContent = text;
    if (retryFor) {
      var retry = document.createElement("button");
      retry.type = "button";
      retry.className = "btn btn-small retry";
      retry.dataset.retry = retryFor;
      retry.textContent = "Retry";
      status.appendChild(document.createTextNode(" "));
      status.appendChild(retry);
    }
  }

  // The server refused it: it stays, with the reason and a Retry button.
  function markFailed(clientId, detail) {
    var entry = pending.get(clientId);
    if (!entry) return;
    entry.waiting = false;
    entry.el.classList.remove("pending");
    entry.el.classList.add("failed");
    setStatus(entry.el, detail || "Not sent.", clientId);
  }

  // The connection went before the server answered: it is sent again when the connection is back.
  function markWaiting(clientId) {
    var entry = pending.get(clientId);
    if (!entry) return;
    entry.waiting = true;
    setStatus(entry.el, "Not sent yet: waiting for the connection…");
  }

  function transmit(clientId) {
    var entry = pending.get(clientId);
    entry.waiting = false;
    entry.el.classList.remove("failed");
    entry.el.classList.add("pending");
    setStatus(entry.el, "Sending…");
    var frame = { type: "message.send", room: roomId, body: entry.body, client_id: clientId };
    if (entry.replyTo) frame.reply_to = entry.replyTo;
    if (entry.attachments && entry.attachments.length) frame.attachments = entry.attachments;
    if (!send(frame)) markWaiting(clientId);
  }

  function submitComposer() {
    var textarea = composer.querySelector("textarea");
    var body = textarea.value.trim();
    // Files in the composer's tray (static/js/attachments.js) go with the message, and may
    // stand without text; the message waits until they have finished uploading.
    var files = window.parleyAttachments;
    if (files && files.busy()) return;
    var attachments = files ? files.ids() : [];
    if ((!body && !attachments.length) || !ready) return;
    var clientId = newClientId();
    var el = pendingElement(body, clientId, files ? files.names() : []);
    if (files) files.clear();
    pending.set(clientId, { el: el, body: body, acked: false, replyTo: replyTo, attachments: attachments });
    setReply(null);
    list.appendChild(el);
    relayout();
    toBottom();
    transmit(clientId);
    lastTypingSent = 0; // the message itself tells the others the typing stopped
    textarea.value = "";
    fitComposer(textarea);
    textarea.focus();
  }

  // The composer grows with its draft (CSS max-height caps it; past that it scrolls), so every
  // line of a short draft stays in view.
  function fitComposer(textarea) {
    textarea.style.height = "auto";
    textarea.style.height = textarea.scrollHeight + (textarea.offsetHeight - textarea.clientHeight) + "px";
  }

  applyPosting(); // the mute's end in local time, and its timer

  if (composer && list) {
    // Capture phase: the socket sends, so htmx's own form post (the no-socket path) stays out.
    document.addEventListener(
      "submit",
      function (event) {
        if (event.target !== composer) return;
        event.preventDefault();
        event.stopPropagation();
        submitComposer();
      },
      true
    );
    composer.addEventListener("input", function (event) {
      // Typing is ephemeral: at most one start per TYPING_SEND_MS while there is text; a stop
      // when the composer is emptied (sending stops it on the receivers' side too).
      if (event.target.tagName !== "TEXTAREA") return;
      fitComposer(event.target);
      var now = Date.now();
      if (!event.target.value.trim()) {
        if (lastTypingSent && send({ type: "typing.stop", room: roomId })) lastTypingSent = 0;
        return;
      }
      if (now - lastTypingSent < TYPING_SEND_MS) return;
      if (send({ type: "typing.start", room: roomId })) lastTypingSent = now;
    });
    composer.addEventListener("keydown", function (event) {
      if (mentionKey(event)) return;
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.target.tagName === "TEXTAREA") {
        event.preventDefault();
        submitComposer();
      }
    });
    list.addEventListener("click", function (event) {
      var retry = event.target instanceof Element && event.target.closest("[data-retry]");
      if (retry && pending.has(retry.dataset.retry)) transmit(retry.dataset.retry);
    });
  }

  // -- typing -----------------------------------------------------------------------------------

  var TYPING_SEND_MS = 3000;
  var lastTypingSent = 0;
  var TYPING_SHOW_MS = 6000; // a typist who stopped is forgotten after this long
  var typists = new Map(); // user id -> {name, timer}
  var typingLine = document.getElementById("typing-indicator");

  function onTyping(frame) {
    if (!typingLine || frame.room !== roomId || !frame.user || frame.user.id === userId) return;
    if (!frame.typing) {
      stopTyping(frame.user.id);
      return;
    }
    var previous = typists.get(frame.user.id);
    if (previous) clearTimeout(previous.timer);
    var name = frame.user.display_name || frame.user.username;
    var timer = setTimeout(function () {
      typists.delete(frame.user.id);
      showTypists();
    }, TYPING_SHOW_MS);
    typists.set(frame.user.id, { name: name, timer: timer });
    showTypists();
  }

  function stopTyping(senderId) {
    var entry = typists.get(senderId);
    if (!entry) return;
    clearTimeout(entry.timer);
    typists.delete(senderId);
    showTypists();
  }

  function showTypists() {
    var names = Array.from(typists.values()).map(function (t) {
      return t.name;
    });
    var text = "";
    if (names.length === 1) text = names[0] + " is typing…";
    else if (names.length === 2) text = names[0] + " and " + names[1] + " are typing…";
    else if (names.length > 2) text = "Several people are typing…";
    typingLine.textContent = text;
  }

  // -- replies, threads, reactions ------------------------------------------------------------

  var replyTo = null;
  var replyBanner = document.getElementById("reply-banner");

  function setReply(messageId) {
    replyTo = messageId;
    if (!replyBanner) return;
    replyBanner.hidden = !messageId;
    var input = composer && composer.querySelector('input[name="reply_to"]');
    if (input) input.value = messageId || "";
    if (messageId) {
      var target = document.getElementById("msg-" + messageId);
      var who = target && target.querySelector(".message-meta .sender");
      replyBanner.querySelector(".reply-target").textContent = who ? who.textContent : "a message";
      composer.querySelector("textarea").focus();
    }
  }

  function flash(el) {
    el.scrollIntoView({ block: "center" });
    el.classList.add("highlight");
    el.setAttribute("tabindex", "-1");
    el.focus({ preventScroll: true });
    setTimeout(function () {
      el.classList.remove("highlight");
    }, 2000);
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var reply = target.closest("[data-reply]");
    if (reply) {
      setReply(reply.dataset.reply);
      return;
    }
    if (target.closest("[data-cancel-reply]")) {
      setReply(null);
      return;
    }
    var jump = target.closest("[data-jump-unread]");
    if (jump) {
      var first = document.getElementById("msg-" + jump.dataset.jumpUnread);
      if (first) {
        event.preventDefault(); // on the page already: scroll to it instead of loading around it
        flash(first);
      }
      return;
    }
    var quote = target.closest(".reply-quote[data-jump]");
    if (quote) {
      var original = document.getElementById("msg-" + quote.dataset.jump);
      if (original) {
        event.preventDefault(); // on the page: no need to load the history around it
        flash(original);
      }
    }
  });

  // The emoji picker (static/js/emoji-picker.js) names the message it was opened for.
  document.addEventListener("parley:emoji", function (event) {
    var li = document.getElementById(event.detail.target);
    if (!li || !li.dataset.id) return;
    htmx.ajax("POST", "/m/" + li.dataset.id + "/react/", {
      target: li,
      swap: "outerHTML",
      values: { emoji: event.detail.emoji }
    });
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.matches && form.matches("[data-thread-composer]") && event.detail.successful) form.reset();
  });

  // Messages swapped in by htmx (a reaction, an edit, a thread, older history) get this
  // viewer's marks and local times like the ones the socket brings.
  document.body.addEventListener("htmx:afterSettle", function () {
    var fresh = document.querySelectorAll("li.message:not([data-decorated])");
    if (!fresh.length) return;
    fresh.forEach(function (li) {
      decorate(li);
      localize(li);
      watchRead(li);
    });
    relayout();
  });

  // -- @mention autocomplete -------------------------------------------------------------------
  // Typing "@" and the start of a name lists the room's members (read once from the REST API);
  // arrows move, Enter or Tab inserts "@username ", Escape closes. The textarea is a combobox.

  var mentionList = document.getElementById("mention-list");
  var mentionTextarea = composer && composer.querySelector("textarea");
  var members = null; // [{username, display_name}] of this room, once loaded
  var choices = [];
  var chosen = 0;

  function mentionQuery() {
    var text = mentionTextarea.value.slice(0, mentionTextarea.selectionStart);
    var match = /(^|\s)@([A-Za-z0-9_.-]{0,32})$/.exec(text);
    return match ? match[2].toLowerCase() : null;
  }

  var membersLoading = false;

  function loadMembers(then) {
    if (members) return then();
    if (membersLoading) return; // its own callback shows the list for the query typed by then
    membersLoading = true;
    fetch("/api/rooms/" + roomId + "/members/", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : [];
      })
      .then(function (list) {
        members = list.map(function (m) {
          return { username: m.username, name: m.display_name || m.username };
        });
        members.push({ username: "room", name: "everyone in this room" });
        then();
      });
  }

  function showMentions() {
    if (mentionQuery() === null || !mentionList) return hideMentions();
    loadMembers(function () {
      var query = mentionQuery(); // what is typed now, not when the list was asked for
      if (query === null) return hideMentions();
      choices = members
        .filter(function (m) {
          return m.username.toLowerCase().indexOf(query) === 0 || m.name.toLowerCase().indexOf(query) === 0;
        })
        .slice(0, 8);
      if (!choices.length) return hideMentions();
      chosen = Math.min(chosen, choices.length - 1);
      mentionList.textContent = "";
      choices.forEach(function (m, index) {
        var option = document.createElement("li");
        option.id = "mention-option-" + index;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", String(index === chosen));
        option.textContent = "@" + m.username + (m.name !== m.username ? " · " + m.name : "");
        option.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the textarea's focus
          insertMention(m.username);
        });
        mentionList.appendChild(option);
      });
      mentionList.hidden = false;
      mentionTextarea.setAttribute("aria-expanded", "true");
      mentionTextarea.setAttribute("aria-activedescendant", "mention-option-" + chosen);
    });
  }

  function hideMentions() {
    if (!mentionList || mentionList.hidden) return;
    mentionList.hidden = true;
    chosen = 0;
    mentionTextarea.setAttribute("aria-expanded", "false");
    mentionTextarea.removeAttribute("aria-activedescendant");
  }

  function insertMention(username) {
    var caret = mentionTextarea.selectionStart;
    var before = mentionTextarea.value.slice(0, caret).replace(/@[A-Za-z0-9_.-]*$/, "@" + username + " ");
    mentionTextarea.value = before + mentionTextarea.value.slice(caret);
    mentionTextarea.selectionStart = mentionTextarea.selectionEnd = before.length;
    hideMentions();
    mentionTextarea.focus();
  }

  function mentionKey(event) {
    if (!mentionList || mentionList.hidden || event.target !== mentionTextarea) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      chosen = (chosen + (event.key === "ArrowDown" ? 1 : choices.length - 1)) % choices.length;
      showMentions();
    } else if (event.key === "Enter" || event.key === "Tab") {
      insertMention(choices[chosen].username);
    } else if (event.key === "Escape") {
      hideMentions();
    } else {
      return false;
    }
    event.preventDefault();
    event.stopPropagation();
    return true;
  }

  if (mentionTextarea && mentionList) {
    mentionTextarea.addEventListener("input", showMentions);
    mentionTextarea.addEventListener("blur", hideMentions);
  }

  // -- history and the "new messages" pill --------------------------------------------------------

  if (list) {
    var distanceFromBottom = null;
    list.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.target.classList.contains("history-more")) {
        distanceFromBottom = list.scrollHeight - list.scrollTop;
      }
    });
    document.body.addEventListener("htmx:afterSwap", function () {
      if (distanceFromBottom === null) return;
      relayout();
      list.scrollTop = list.scrollHeight - distanceFromBottom; // keep the reader's place
      distanceFromBottom = null;
    });
    list.addEventListener("scroll", function () {
      if (pill && !pill.hidden && nearBottom()) pill.hidden = true;
    });
    if (pill) {
      pill.addEventListener("click", function () {
        toBottom();
        list.focus();
      });
    }
    relayout();
    var divider = document.getElementById("unread-divider");
    if (divider && !room.hasAttribute("data-around")) divider.scrollIntoView({ block: "start" });
    else toBottom();
    list.querySelectorAll("li.message").forEach(watchRead);
  }

  showReceipts();
  setComposerEnabled(false);
  connect();
  var leaving = false;
  window.addEventListener("pagehide", function () {
    leaving = true; // navigating away is not a dropped connection: no banner, no retry
    if (socket) socket.close(1000);
    if (stream) stream.close();
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) location.reload(); // back/forward cache: render afresh, resume by seq
  });
  // Exposed for tests and debugging: the cursor the next connection resumes from.
  app.parleyState = function () {
    return { seq: lastSeq, ready: ready, everConnected: everConnected, transport: transport };
  };
})();
