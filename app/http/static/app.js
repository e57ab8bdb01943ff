// Static content served by the app on the single box, by the CDN later on.
document.documentElement.dataset.loaded = "1";
