#!/usr/bin/env node
// Entry point of the `miglio` CLI. The sources are TypeScript run through tsx's loader, so a fresh
// clone needs no build step before `npm start`.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../cli/main.ts')
process.exitCode = await main(process.argv)
