// Starts a real Bluesky network on loopback with an AppView, for the inbox test: a PLC
// directory, a PDS and the AppView (bsky, which indexes the PDS's firehose and serves
// app.bsky.notification.listNotifications), from @atproto/dev-env's TestNetwork. The AppView
// keeps its data in PostgreSQL: in the database herald_pds_appview (made here if missing) on
// the server DB_POSTGRES_URL names, in schemas named after DB_POSTGRES_SCHEMA, which the caller
// makes unique and this script drops when it stops. A database of its own, because its
// migrations read the catalogue of every schema in the database, which other tests change
// while they run. It uses Redis too (REDIS_HOST). When ready it prints one JSON line on stdout:
// {"pds":"http://127.0.0.1:PORT","plc":"http://127.0.0.1:PORT","appview":"http://127.0.0.1:PORT"}.
//
// It then reads commands from stdin, one a line, and answers each with one JSON line:
//   sync  -> {"synced":true} once the AppView has indexed everything the PDS sequenced.
// It stops when stdin closes (the test that started it ended, however it ended) or on SIGTERM.
//
// The packages are looked up in $HERALD_PDS_DIR/node_modules (default: beside this script),
// where install.sh put them.

import { createInterface } from 'node:readline'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const packages = createRequire(join(process.env.HERALD_PDS_DIR || here, 'package.json'))
const load = (name) => import(pathToFileURL(packages.resolve(name)).href)

const { TestNetwork } = await load('@atproto/dev-env')
const pg = (await load('pg')).default

const schema = process.env.DB_POSTGRES_SCHEMA
if (!schema || !/^[a-z_]+$/.test(schema)) {
  process.stderr.write('DB_POSTGRES_SCHEMA must be set to lower-case letters and _ (bsync allows no digits)\n')
  process.exit(1)
}

// The server's own database is only used to make ours.
const DATABASE = 'herald_pds_appview'
const server = new URL(process.env.DB_POSTGRES_URL)
const ours = new URL(server)
ours.pathname = `/${DATABASE}`
process.env.DB_POSTGRES_URL = ours.toString()
const admin = new pg.Client({ connectionString: server.toString() })
await admin.connect()
try {
  await admin.query(`CREATE DATABASE ${DATABASE}`)
} catch (error) {
  // 42P04: it exists; 23505: another process made it at the same moment.
  if (error?.code !== '42P04' && error?.code !== '23505') throw error
} finally {
  await admin.end().catch(() => {})
}

let network
let stopping = false
const stop = async (code) => {
  if (stopping) return
  stopping = true
  try {
    await network?.close()
  } catch (error) {
    process.stderr.write(`closing the network: ${error?.message ?? error}\n`)
  }
  // TestNetwork keeps each service's tables in a schema named after ours.
  const client = new pg.Client({ connectionString: ours.toString() })
  try {
    await client.connect()
    for (const prefix of ['appview', 'bsync', 'ozone']) {
      await client.query(`DROP SCHEMA IF EXISTS "${prefix}_${schema}" CASCADE`)
    }
  } catch (error) {
    process.stderr.write(`dropping the test schemas: ${error?.message ?? error}\n`)
  } finally {
    await client.end().catch(() => {})
  }
  process.exit(code)
}
process.on('SIGTERM', () => stop(0))
process.on('SIGINT', () => stop(0))

try {
  network = await TestNetwork.create({ dbPostgresUrl: ours.toString(), dbPostgresSchema: schema })
  const loopback = (url) => url.replace('//localhost:', '//127.0.0.1:')
  process.stdout.write(
    JSON.stringify({
      pds: loopback(network.pds.url),
      plc: loopback(network.plc.url),
      appview: loopback(network.bsky.url),
    }) + '\n',
  )
} catch (error) {
  process.stderr.write(`the network did not start: ${error?.stack ?? error}\n`)
  await stop(1)
}

const commands = createInterface({ input: process.stdin })
commands.on('line', async (line) => {
  const command = line.trim()
  try {
    if (command === 'sync') {
      await network.processAll()
      process.stdout.write(JSON.stringify({ synced: true }) + '\n')
    } else {
      process.stdout.write(JSON.stringify({ error: `unknown command ${command}` }) + '\n')
    }
  } catch (error) {
    process.stdout.write(JSON.stringify({ error: String(error?.message ?? error) }) + '\n')
  }
})
commands.on('close', () => stop(0))
