// Behaviour the pages need without inline handlers (the Content-Security-Policy allows no
// inline event attributes): a button with data-print prints the page.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
