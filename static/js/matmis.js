// matmis – page behaviour (ES module, loaded with <script type="module">).
//
// Our CSP has no 'unsafe-inline', so GOV.UK Frontend's usual inline
// `<script>document.body.className += ' govuk-frontend-supported'</script>`
// snippet is not allowed: this module does the same job. Browsers that do not
// run ES modules never get here and keep the no-JavaScript experience, which
// is exactly what GOV.UK Frontend's own check is for.
//
// Module scripts run after the document has been parsed, so document.body
// exists here.

import { initAll } from '../build/govuk-frontend.min.js'

const body = document.body
body.classList.add('js-enabled', 'govuk-frontend-supported')

// GOV.UK Frontend marks initialised components and throws if asked to set one
// up twice; that is expected when htmx swaps in a fragment next to components
// that are already running, so we only report other errors.
function onGovukError (error) {
  if (error && error.name === 'InitError') return
  console.error(error)
}

function initGovuk (scope) {
  initAll({ scope: scope || document, onError: onGovukError })
}

initGovuk(document)

// -----------------------------------------------------------------------------
// Main navigation: disclosure sub-menus
//
// Markup (templates/base.html): each parent item has a link and a
// <button class="mm-nav__toggle" aria-expanded="false" aria-controls="…" hidden>
// next to a <ul class="mm-nav__menu" hidden>. Without JavaScript the buttons
// stay hidden and the parent links (and the section sub-navigation row) still
// reach every page.
// -----------------------------------------------------------------------------

const NAV = '[data-mm-nav]'
const TOGGLE = '.mm-nav__toggle'

function menuFor (toggle) {
  return document.getElementById(toggle.getAttribute('aria-controls'))
}

function setOpen (toggle, open) {
  const menu = menuFor(toggle)
  if (!menu) return
  toggle.setAttribute('aria-expanded', open ? 'true' : 'false')
  menu.hidden = !open
}

function closeAll (except) {
  document.querySelectorAll(`${NAV} ${TOGGLE}[aria-expanded="true"]`).forEach((toggle) => {
    if (toggle !== except) setOpen(toggle, false)
  })
}

function initNav (scope) {
  scope.querySelectorAll(`${NAV} ${TOGGLE}`).forEach((toggle) => {
    if (toggle.dataset.mmNavInit) return
    toggle.dataset.mmNavInit = 'true'
    toggle.hidden = false
    setOpen(toggle, false)
  })
}

document.addEventListener('click', (event) => {
  const toggle = event.target.closest(`${NAV} ${TOGGLE}`)
  if (toggle) {
    const open = toggle.getAttribute('aria-expanded') !== 'true'
    closeAll(toggle)
    setOpen(toggle, open)
    return
  }
  // A click anywhere outside an open menu closes it.
  if (!event.target.closest('.mm-nav__menu')) closeAll()
})

document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return
  const open = document.querySelector(`${NAV} ${TOGGLE}[aria-expanded="true"]`)
  if (!open) return
  const focusWasInside = open.closest('.mm-nav__item').contains(document.activeElement)
  closeAll()
  if (focusWasInside) open.focus()
})

// Tabbing out of an item closes its menu.
document.addEventListener('focusout', (event) => {
  const item = event.target.closest && event.target.closest(`${NAV} .mm-nav__item`)
  if (!item) return
  const next = event.relatedTarget
  if (next && item.contains(next)) return
  const toggle = item.querySelector(TOGGLE)
  if (toggle && toggle.getAttribute('aria-expanded') === 'true') setOpen(toggle, false)
})

// Arrow keys move between the links of an open menu (Tab works too).
document.addEventListener('keydown', (event) => {
  if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return
  const item = event.target.closest && event.target.closest(`${NAV} .mm-nav__item`)
  if (!item) return
  const toggle = item.querySelector(TOGGLE)
  const menu = toggle && menuFor(toggle)
  if (!menu) return
  const links = Array.from(menu.querySelectorAll('a'))
  if (!links.length) return
  event.preventDefault()
  if (menu.hidden) setOpen(toggle, true)
  const index = links.indexOf(document.activeElement)
  let next
  if (event.key === 'ArrowDown') next = index < 0 ? 0 : Math.min(index + 1, links.length - 1)
  else next = index <= 0 ? -1 : index - 1
  if (next < 0) toggle.focus()
  else links[next].focus()
})

// -----------------------------------------------------------------------------
// Slide-over panels: <dialog class="mm-slideover"> opened as a modal, so the
// browser traps focus, makes the page inert and closes it on Escape.
//   opener:  <button type="button" data-mm-dialog-open="ID" aria-haspopup="dialog">
//   closer:  <button type="button" data-mm-dialog-close>
// -----------------------------------------------------------------------------

const openers = new WeakMap()

document.addEventListener('click', (event) => {
  const opener = event.target.closest('[data-mm-dialog-open]')
  if (opener) {
    const dialog = document.getElementById(opener.dataset.mmDialogOpen)
    if (dialog && typeof dialog.showModal === 'function' && !dialog.open) {
      openers.set(dialog, opener)
      dialog.showModal()
      body.classList.add('mm-scroll-lock')
    }
    return
  }
  const closer = event.target.closest('[data-mm-dialog-close]')
  if (closer) {
    const dialog = closer.closest('dialog')
    if (dialog) dialog.close()
    return
  }
  // A click on the backdrop (the dialog element itself, outside its content)
  if (event.target instanceof HTMLDialogElement && event.target.classList.contains('mm-slideover')) {
    const rect = event.target.getBoundingClientRect()
    const inside = event.clientX >= rect.left && event.clientX <= rect.right &&
      event.clientY >= rect.top && event.clientY <= rect.bottom
    if (!inside) event.target.close()
  }
})

document.addEventListener('close', (event) => {
  const dialog = event.target
  if (!(dialog instanceof HTMLDialogElement)) return
  if (!document.querySelector('dialog.mm-slideover[open]')) body.classList.remove('mm-scroll-lock')
  const opener = openers.get(dialog)
  if (opener && opener.isConnected) opener.focus()
}, true)

// -----------------------------------------------------------------------------
// Table headers that follow the page
//
// A wide table scrolls sideways in its .mm-table-wrap, which keeps CSS's
// position: sticky from holding its header to the page. While the table passes
// under the top of the window, its header is moved down by the distance
// (--mm-thead-offset on the wrapper, read by matmis.scss), never past the last
// row. Without JavaScript the header scrolls away with the rows.
// -----------------------------------------------------------------------------

let headerFrame = 0

function placeTableHeaders () {
  headerFrame = 0
  document.querySelectorAll('.mm-table-wrap > table').forEach((table) => {
    const head = table.tHead
    if (!head) return
    const wrap = table.parentElement
    // Where the header would be unmoved: its box as drawn, less the offset it has now.
    const current = parseFloat(wrap.style.getPropertyValue('--mm-thead-offset')) || 0
    const top = head.getBoundingClientRect().top - current
    const room = table.getBoundingClientRect().bottom - top - head.offsetHeight
    const offset = Math.round(Math.min(Math.max(-top, 0), Math.max(room, 0)))
    const value = offset > 0 ? `${offset}px` : ''
    if (wrap.style.getPropertyValue('--mm-thead-offset') === value) return
    if (value) wrap.style.setProperty('--mm-thead-offset', value)
    else wrap.style.removeProperty('--mm-thead-offset')
  })
}

function scheduleTableHeaders () {
  if (!headerFrame) headerFrame = window.requestAnimationFrame(placeTableHeaders)
}

window.addEventListener('scroll', scheduleTableHeaders, { passive: true })
window.addEventListener('resize', scheduleTableHeaders)
document.addEventListener('htmx:afterSettle', scheduleTableHeaders)

// -----------------------------------------------------------------------------
// htmx: initialise components in swapped-in content
// -----------------------------------------------------------------------------

function initScope (scope) {
  initGovuk(scope)
  initNav(scope)
}

document.addEventListener('htmx:afterSettle', (event) => {
  // For outerHTML swaps the original target may have left the document;
  // fall back to the whole page (already initialised parts are skipped).
  const target = event.detail && event.detail.elt
  const scope = target && target.isConnected ? target : document
  initScope(scope)
})

initNav(document)
