// Files in the composer and the lightbox.
//
// Files chosen with the attach button, dropped on the conversation or pasted into the composer
// are uploaded at once (POST /api/rooms/{id}/attachments/, with progress) and listed in the
// tray, each removable (or retried, when its upload failed) before sending. The tray holds a
// hidden `attachments` input per finished upload, so the form post (no socket) sends them too;
// with the socket, chat.js reads them through window.parleyAttachments. A voice message is
// recorded with MediaRecorder, uploaded as one, and sent on its own.
(function () {
  "use strict";

  // -- lightbox: any page with messages ------------------------------------------------------

  var lightbox = document.getElementById("lightbox");
  var opener = null;
  if (lightbox) {
    var lightboxImage = document.getElementById("lightbox-image");
    var lightboxCaption = document.getElementById("lightbox-caption");
    document.addEventListener("click", function (event) {
      var link = event.target instanceof Element && event.target.closest("a[data-lightbox]");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      opener = link;
      lightboxImage.src = link.href;
      lightboxImage.alt = link.title || "";
      lightboxImage.width = Number(link.dataset.width) || 0;
      lightboxImage.height = Number(link.dataset.height) || 0;
      lightboxCaption.textContent = link.title || "";
      lightbox.showModal();
      lightbox.querySelector(".lightbox-close").focus();
    });
    lightbox.addEventListener("click", function (event) {
      if (event.target === lightbox) lightbox.close(); // a click on the backdrop
    });
    lightbox.addEventListener("close", function () {
      lightboxImage.removeAttribute("src");
      if (opener && document.contains(opener)) opener.focus();
      opener = null;
    });
  }

  // -- the composer's files --------------------------------------------------------------------

  var app = document.getElementById("app");
  var composer = document.getElementById("composer");
  var tray = document.getElementById("attachment-tray");
  if (!app || !composer || !tray || !window.FormData) return;

  var roomId = composer.dataset.roomId;
  var fileInput = document.getElementById("composer-file");
  var attachButton = composer.querySelector("[data-attach]");
  var recordButton = composer.querySelector("[data-record]");
  var textarea = composer.querySelector("textarea");
  var items = []; // {li, file, voice, duration, xhr, id, state: "uploading"|"done"|"failed"}

  function csrfToken() {
    var input = composer.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function sizeText(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(0) + " KB";
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function refresh() {
    tray.hidden = items.length === 0;
    // A message of files alone needs no text.
    textarea.required = items.length === 0;
  }

  function button(text, label, handler) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "link-btn";
    b.textContent = text;
    if (label) b.setAttribute("aria-label", label);
    b.addEventListener("click", handler);
    return b;
  }

  function add(file, voice, duration) {
    var item = { file: file, voice: !!voice, duration: duration || null, id: null, state: "uploading" };
    var li = document.createElement("li");
    li.className = "tray-item";
    var name = document.createElement("span");
    name.className = "tray-name";
    name.dir = "auto";
    name.textContent = (voice ? "Voice message" : file.name || "pasted image") + " (" + sizeText(file.size) + ")";
    var progress = document.createElement("progress");
    progress.max = 100;
    progress.value = 0;
    progress.setAttribute("aria-label", "Uploading " + (file.name || "file"));
    var status = document.createElement("span");
    status.className = "tray-status";
    status.setAttribute("role", "status");
    li.append(name, " ", progress, " ", status, " ");
    li.appendChild(
      button("Remove", "Remove " + (file.name || "file"), function () {
        remove(item);
        textarea.focus();
      })
    );
    item.li = li;
    item.progress = progress;
    item.status = status;
    tray.appendChild(li);
    items.push(item);
    refresh();
    upload(item);
    return item;
  }

  function remove(item) {
    if (item.xhr && item.state === "uploading") item.xhr.abort();
    item.li.remove();
    items = items.filter(function (other) {
      return other !== item;
    });
    refresh();
  }

  function upload(item) {
    var form = new FormData();
    form.append("file", item.file, item.file.name || (item.voice ? "voice.webm" : "pasted.png"));
    if (item.voice) {
      form.append("voice", "true");
      form.append("duration", String(item.duration));
    }
    var xhr = new XMLHttpRequest();
    item.xhr = xhr;
    item.state = "uploading";
    item.li.classList.remove("failed");
    item.progress.hidden = false;
    item.status.textContent = "Uploading…";
    var retry = item.li.querySelector("[data-retry-upload]");
    if (retry) retry.remove();
    xhr.open("POST", "/api/rooms/" + roomId + "/attachments/");
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) item.progress.value = Math.round((event.loaded / event.total) * 100);
    });
    xhr.addEventListener("load", function () {
      var answer = null;
      try {
        answer = JSON.parse(xhr.responseText);
      } catch (e) {}
      if (xhr.status === 201 && answer && answer.id) {
        item.id = answer.id;
        item.state = "done";
        item.progress.value = 100;
        item.progress.hidden = true;
        item.status.textContent = "Ready";
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = "attachments";
        hidden.value = String(answer.id);
        item.li.appendChild(hidden);
        composer.dispatchEvent(new CustomEvent("parley:uploaded"));
      } else {
        failed(item, errorText(answer) || "Upload failed.");
      }
    });
    xhr.addEventListener("error", function () {
      failed(item, "Upload failed: offline?");
    });
    xhr.send(form);
  }

  function errorText(answer) {
    return (answer && answer.detail) || ""; // every API error has one
  }

  function failed(item, text) {
    item.state = "failed";
    item.li.classList.add("failed");
    item.progress.hidden = true;
    item.status.textContent = text;
    var retry = button("Retry", "Retry uploading " + (item.file.name || "file"), function () {
      upload(item);
    });
    retry.dataset.retryUpload = "";
    item.li.insertBefore(retry, item.li.lastElementChild);
  }

  function addFiles(files) {
    Array.prototype.forEach.call(files, function (file) {
      add(file, false);
    });
  }

  // What chat.js sends with the next message.
  window.parleyAttachments = {
    busy: function () {
      return items.some(function (item) {
        return item.state !== "done";
      });
    },
    ids: function () {
      return items.map(function (item) {
        return item.id;
      });
    },
    names: function () {
      return items.map(function (item) {
        return item.voice ? "Voice message" : item.file.name || "image";
      });
    },
    clear: function () {
      items.slice().forEach(function (item) {
        item.li.remove();
      });
      items = [];
      refresh();
    },
  };

  attachButton.hidden = false;
  attachButton.addEventListener("click", function () {
    fileInput.click();
  });
  fileInput.addEventListener("change", function () {
    addFiles(fileInput.files);
    fileInput.value = "";
    textarea.focus();
  });

  textarea.addEventListener("paste", function (event) {
    var files = event.clipboardData && event.clipboardData.files;
    if (files && files.length) {
      event.preventDefault();
      addFiles(files);
    }
  });

  var dropZone = composer.closest(".conversation") || composer;
  function hasFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0;
  }
  dropZone.addEventListener("dragover", function (event) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dropZone.classList.add("dropping");
  });
  dropZone.addEventListener("dragleave", function (event) {
    if (event.target === dropZone) dropZone.classList.remove("dropping");
  });
  dropZone.addEventListener("drop", function (event) {
    dropZone.classList.remove("dropping");
    if (!hasFiles(event)) return;
    event.preventDefault();
    addFiles(event.dataTransfer.files);
    textarea.focus();
  });

  // -- voice messages --------------------------------------------------------------------------

  var recorder = document.getElementById("voice-recorder");
  var elapsed = document.getElementById("voice-elapsed");
  var VOICE_MAX_MS = 5 * 60 * 1000;
  var recording = null; // {media, stream, chunks, started, timer, cancelled}

  function clock(ms) {
    var s = Math.round(ms / 1000);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function voiceType() {
    var types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"];
    for (var i = 0; i < types.length; i++) if (MediaRecorder.isTypeSupported(types[i])) return types[i];
    return "";
  }

  function stopRecording(cancel) {
    if (!recording) return;
    recording.cancelled = cancel;
    clearInterval(recording.timer);
    if (recording.media.state !== "inactive") recording.media.stop();
    recording.stream.getTracks().forEach(function (track) {
      track.stop();
    });
  }

  function startRecording() {
    navigator.mediaDevices
      .getUserMedia({ audio: true })
      .then(function (stream) {
        var type = voiceType();
        var media = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
        recording = { media: media, stream: stream, chunks: [], started: Date.now(), cancelled: false };
        media.addEventListener("dataavailable", function (event) {
          if (event.data && event.data.size) recording.chunks.push(event.data);
        });
        media.addEventListener("stop", function () {
          var done = recording;
          recording = null;
          recorder.hidden = true;
          recordButton.hidden = false;
          recordButton.focus();
          if (done.cancelled || !done.chunks.length) return;
          var duration = Math.max(0.1, Math.min(VOICE_MAX_MS, Date.now() - done.started) / 1000);
          var ogg = (media.mimeType || "").indexOf("ogg") >= 0;
          var blob = new Blob(done.chunks, { type: media.mimeType || "audio/webm" });
          var file = new File([blob], ogg ? "voice.ogg" : "voice.webm", { type: blob.type });
          var item = add(file, true, duration.toFixed(2));
          // Sent as soon as it is uploaded: a voice message is a message of its own.
          composer.addEventListener("parley:uploaded", function sendWhenReady() {
            if (item.state !== "done") return;
            composer.removeEventListener("parley:uploaded", sendWhenReady);
            if (!window.parleyAttachments.busy()) composer.requestSubmit();
          });
        });
        media.start(250);
        recorder.hidden = false;
        recordButton.hidden = true;
        elapsed.textContent = "0:00";
        recording.timer = setInterval(function () {
          var ms = Date.now() - recording.started;
          elapsed.textContent = clock(ms);
          if (ms >= VOICE_MAX_MS) stopRecording(false);
        }, 250);
        recorder.querySelector("[data-voice-send]").focus();
      })
      .catch(function () {
        recordButton.title = "The microphone is not available";
      });
  }

  if (recordButton && window.MediaRecorder && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    recordButton.hidden = false;
    recordButton.addEventListener("click", startRecording);
    recorder.querySelector("[data-voice-send]").addEventListener("click", function () {
      stopRecording(false);
    });
    recorder.querySelector("[data-voice-cancel]").addEventListener("click", function () {
      stopRecording(true);
    });
  }
})();
