// The upload step: a file dropped on the drop zone, or chosen with the picker, is uploaded at
// once (the manual's "you will automatically be transferred to step 3"). Without JavaScript
// the picker and the Upload button do the same.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("[data-upload-form]");
  if (!form) return;
  const zone = form.querySelector("[data-dropzone]");
  const input = zone.querySelector("input[type=file]");
  input.addEventListener("change", () => {
    if (input.files.length) form.requestSubmit();
  });
  ["dragenter", "dragover"].forEach((name) =>
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("is-over");
    }),
  );
  zone.addEventListener("dragleave", () => zone.classList.remove("is-over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("is-over");
    if (!event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    form.requestSubmit();
  });
  form.dataset.ready = "true"; // the drop zone and the picker now upload at once
});
