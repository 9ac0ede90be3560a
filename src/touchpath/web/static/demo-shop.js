/* The demo shop's buttons (served by `touchpath serve --demo` at /demo). */
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const log = (text) => { $('log').textContent = text; };
  const user = $('user');
  user.value = localStorage.getItem('demo_user') || 'demo-' + Math.random().toString(36).slice(2, 8);
  const lang = $('lang');
  lang.value = localStorage.getItem('demo_lang') || 'en';
  document.documentElement.lang = lang.value;
  lang.addEventListener('change', () => {
    localStorage.setItem('demo_lang', lang.value);
    document.documentElement.lang = lang.value;
  });
  const ready = () => new Promise((resolve) => {
    const wait = () => (window.touchpath && window.touchpath.loaded ? resolve(window.touchpath)
      : setTimeout(wait, 50));
    wait();
  });
  $('identify').addEventListener('click', async () => {
    localStorage.setItem('demo_user', user.value);
    (await ready()).identify(user.value, { plan: 'demo' });
    log(`signed in as ${user.value}`);
  });
  document.querySelectorAll('button[data-event]').forEach((button) => {
    button.addEventListener('click', async () => {
      const name = button.getAttribute('data-event');
      (await ready()).track(name, name === 'Order Completed' ? { revenue: 120, currency: 'ILS' } : {});
      log(`sent "${name}"`);
    });
  });
})();
