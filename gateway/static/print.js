// The printable report opens the browser's print dialogue once it has loaded.
window.addEventListener("load", function () { if (window.print) window.print(); });
