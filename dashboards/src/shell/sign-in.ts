import { h } from '../dom.ts'
import type { Messages } from '../i18n.ts'
import { hrefOf } from './routes.ts'

/** The sign-in card: an API key field (checked by the API, kept only for the session). */
export function renderSignIn(
  doc: Document,
  m: Messages,
  state: { key: string | null; error: string | null },
  signIn: (key: string) => void,
): HTMLElement {
  const input = h(doc, 'input', {
    id: 'api-key',
    name: 'apiKey',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'api-key-hint api-key-error',
    'aria-invalid': state.error ? 'true' : undefined,
  })
  input.value = state.key ?? ''
  const error = h(doc, 'p', { id: 'api-key-error', class: 'error', role: 'alert' }, [
    state.error ?? '',
  ])
  const submit = h(doc, 'button', { type: 'submit', class: 'button-primary' }, [m.signIn.submit])
  const form = h(doc, 'form', { class: 'sign-in-form', novalidate: true }, [
    h(doc, 'label', { for: 'api-key' }, [m.signIn.apiKey]),
    input,
    h(doc, 'p', { id: 'api-key-hint', class: 'hint' }, [m.signIn.apiKeyHint]),
    error,
    submit,
  ])
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const key = input.value.trim()
    if (key === '') {
      error.textContent = m.signIn.missingKey
      input.setAttribute('aria-invalid', 'true')
      input.focus()
      return
    }
    submit.disabled = true
    submit.textContent = m.signIn.submitting
    signIn(key)
  })
  return h(doc, 'section', { class: 'card sign-in', 'aria-labelledby': 'sign-in-heading' }, [
    h(doc, 'h1', { id: 'sign-in-heading' }, [m.signIn.heading]),
    h(doc, 'p', {}, [m.signIn.intro]),
    form,
    h(doc, 'p', { class: 'hint public-link' }, [
      h(doc, 'a', { href: hrefOf({ name: 'street' }) }, [m.signIn.publicLink]),
    ]),
  ])
}
