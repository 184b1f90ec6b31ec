import { createDashboardApp } from './app.ts'

const root = document.getElementById('app')
if (root) {
  const app = createDashboardApp({
    root,
    baseUrl: window.location.origin,
    fetch: window.fetch.bind(window),
    storage: window.sessionStorage,
    languages: navigator.languages.length > 0 ? navigator.languages : [navigator.language],
    now: () => new Date(),
  })
  void app.start()
}
