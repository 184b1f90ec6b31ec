import { createDashboardApp } from './app.ts'
import { openBrowserSocket } from './browser-socket.ts'

const root = document.getElementById('app')
if (root) {
  const app = createDashboardApp({
    root,
    baseUrl: window.location.origin,
    fetch: window.fetch.bind(window),
    storage: window.sessionStorage,
    languages: navigator.languages.length > 0 ? navigator.languages : [navigator.language],
    now: () => new Date(),
    createSocket: (url, handlers) => openBrowserSocket(url, handlers),
  })
  void app.start()
}
