// The storefront: the catalog, kept current by the /events stream, an order form and an order
// lookup. Every piece of data reaches the page through textContent, never as HTML.
'use strict';

(() => {
  const edition = document.body.dataset.edition === 'stocks' ? 'stocks' : 'products';
  const $ = (id) => document.getElementById(id);
  const rows = new Map(); // item name -> { tr, price, qty, quantity }
  const tbody = $('items').querySelector('tbody');
  const select = $('order-name');

  $('title').textContent = edition === 'stocks' ? 'Stocks' : 'Products';
  if (edition === 'stocks') $('sell').hidden = false;

  function cell(tr, cls, text) {
    const td = document.createElement('td');
    td.className = cls;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function show(el, kind, text) {
    el.className = 'result ' + kind;
    el.textContent = text;
  }

  // One request id per submission, from the platform's random source (crypto.randomUUID needs a
  // secure context; getRandomValues does not).
  function freshKey() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return 'web-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  function upsert(item, flash) {
    let row = rows.get(item.name);
    if (!row) {
      const tr = document.createElement('tr');
      tr.dataset.name = item.name;
      const name = cell(tr, 'name', item.name);
      const price = cell(tr, 'num price', '');
      const qty = cell(tr, 'num qty', '');
      tbody.appendChild(tr);
      const option = document.createElement('option');
      option.value = item.name;
      option.textContent = item.name;
      select.appendChild(option);
      row = { tr, name, price, qty, option, quantity: null };
      rows.set(item.name, row);
    }
    row.price.textContent = Number(item.price).toFixed(2);
    const changed = row.quantity !== null && row.quantity !== item.quantity;
    row.quantity = item.quantity;
    row.qty.textContent = String(item.quantity);
    row.tr.classList.toggle('soldout', item.quantity === 0);
    if (changed && flash) {
      row.tr.classList.remove('changed');
      void row.tr.offsetWidth; // restart the animation
      row.tr.classList.add('changed');
    }
  }

  function remove(name) {
    const row = rows.get(name);
    if (!row) return;
    row.tr.remove();
    row.option.remove();
    rows.delete(name);
  }

  async function getJson(url, options) {
    const r = await fetch(url, Object.assign({ cache: 'no-store' }, options || {}));
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    return { status: r.status, body };
  }

  async function loadAll() {
    try {
      const r = await getJson('/' + edition);
      if (r.status !== 200 || !r.body || !Array.isArray(r.body.data)) {
        $('list-status').textContent = 'The store is busy: the list could not be loaded, trying again.';
        setTimeout(loadAll, 1000);
        return;
      }
      const seen = new Set();
      for (const item of r.body.data) { upsert(item, true); seen.add(item.name); }
      for (const name of Array.from(rows.keys())) if (!seen.has(name)) remove(name);
      $('list-status').textContent = rows.size + ' items';
    } catch (e) {
      $('list-status').textContent = 'The store cannot be reached: trying again.';
      setTimeout(loadAll, 1000);
    }
  }

  // Refetches of one item are coalesced: while one is on its way, a second only marks it dirty.
  const inflight = new Map();
  async function refresh(name) {
    if (inflight.has(name)) { inflight.set(name, true); return; }
    inflight.set(name, false);
    try {
      const r = await getJson('/' + edition + '/' + encodeURIComponent(name));
      if (r.status === 200 && r.body && r.body.data) upsert(r.body.data, true);
      else if (r.status === 404) remove(name);
    } catch (e) {
      // The stream's next event or reconnect fetches it again.
    } finally {
      const again = inflight.get(name);
      inflight.delete(name);
      if (again) refresh(name);
    }
  }

  // ---- live updates ---------------------------------------------------------------------------
  loadAll(); // also when the stream is refused (503): the list shows, only not live
  const live = $('live');
  const events = new EventSource('/events');
  let opened = false;
  events.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'live on';
    if (opened) loadAll(); // whatever changed while we were not connected
    opened = true;
  });
  events.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.className = 'live off';
  });
  events.addEventListener('item', (e) => {
    try { refresh(JSON.parse(e.data).name); } catch (err) { loadAll(); }
  });
  events.addEventListener('resync', () => loadAll());

  // ---- orders ---------------------------------------------------------------------------------
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // The same key on every retry: a lost reply or a fail-over can never make a second order.
  async function placeOrder(order, key) {
    let last = { status: 0, body: null };
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        last = await getJson('/orders', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
          body: JSON.stringify(order),
        });
        if (last.status !== 503) return last;
      } catch (e) {
        last = { status: 0, body: null };
      }
      await sleep(300 * (attempt + 1));
    }
    return last;
  }

  function orderMessage(order, r) {
    const what = order.quantity + ' ' + order.name;
    if (r.status === 200) {
      const n = r.body.data.order_number;
      return ['ok', 'Order ' + n + ' placed: ' + order.type + ' ' + what + '.'];
    }
    const left = rows.has(order.name) ? rows.get(order.name).quantity : null;
    switch (r.status) {
      case 409:
        return ['error', 'Not enough ' + order.name + ' left to buy ' + order.quantity +
          (left !== null ? ' (' + left + ' left).' : '.')];
      case 404:
        return ['error', 'There is no item named ' + order.name + '.'];
      case 400:
        return ['error', 'That order is not valid: ' +
          (r.body && r.body.error ? r.body.error.message : 'bad request') + '.'];
      case 422:
        return ['error', 'That order clashes with an earlier one: try again.'];
      default:
        return ['error', 'The store is busy: try again.'];
    }
  }

  const buttons = Array.from(document.querySelectorAll('#order-form button'));
  $('order-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const type = e.submitter && e.submitter.value === 'sell' ? 'sell' : 'buy';
    const quantity = Number($('order-quantity').value);
    const name = select.value;
    const out = $('order-result');
    if (!name) { show(out, 'error', 'Choose an item first.'); return; }
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > 2147483647) {
      show(out, 'error', 'The quantity must be a whole number from 1.');
      return;
    }
    const order = { name, quantity, type };
    // One submission at a time: a double click cannot send a second order.
    buttons.forEach((b) => { b.disabled = true; });
    show(out, '', 'Placing the order…');
    try {
      const r = await placeOrder(order, freshKey());
      const [kind, text] = orderMessage(order, r);
      show(out, kind, text);
      if (r.status === 200 || r.status === 409) refresh(name); // read our own write at once
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });

  $('lookup-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const out = $('lookup-result');
    const text = $('lookup-number').value.trim();
    if (!/^[0-9]+$/.test(text)) {
      show(out, 'error', 'An order number is a whole number from 0.');
      return;
    }
    try {
      const r = await getJson('/orders/' + text);
      if (r.status === 200 && r.body && r.body.data) {
        const o = r.body.data;
        show(out, 'ok', 'Order ' + o.number + ': ' + o.type + ' ' + o.quantity + ' ' + o.name + '.');
      } else if (r.status === 404) {
        show(out, 'error', 'There is no order number ' + text + '.');
      } else if (r.status === 400) {
        show(out, 'error', 'An order number is a whole number from 0.');
      } else {
        show(out, 'error', 'The store is busy: try again.');
      }
    } catch (err) {
      show(out, 'error', 'The store is busy: try again.');
    }
  });
})();
