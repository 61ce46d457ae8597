// Submits forms marked data-mm-autosubmit once the page has loaded (the hop into a
// school site). Without JavaScript the form's own button does the same.
document.querySelectorAll("form[data-mm-autosubmit]").forEach((form) => {
  form.requestSubmit();
});
