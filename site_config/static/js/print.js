// "Imprimir" buttons (data-print): a handler here, since the CSP allows no inline onclick.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
