// Starts a real Bluesky PDS (@atproto/pds) and an in-memory PLC directory (@did-plc/server) on
// free loopback ports, for herald-networks' integration tests. When both are ready it prints one
// JSON line on stdout: {"pds":"http://localhost:PORT","plc":"http://127.0.0.1:PORT","admin":"…"}.
// It stops when stdin closes (the test that started it ended, however it ended) or on SIGTERM.
//
// The packages are looked up in $HERALD_PDS_DIR/node_modules (default: beside this script), where
// install.sh put them.

import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const packages = createRequire(join(process.env.HERALD_PDS_DIR || here, 'package.json'))
const load = (name) => import(pathToFileURL(packages.resolve(name)).href)

const { PDS, envToCfg, envToSecrets, readEnv } = await load('@atproto/pds')
const plcModule = await load('@did-plc/server')
const { PlcServer, Database } = plcModule.default ?? plcModule

const freePort = () =>
  new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })

const listen = (app, port) =>
  new Promise((resolve, reject) => {
    const server = app.listen(port, '127.0.0.1')
    server.once('listening', () => resolve(server))
    server.once('error', reject)
  })

const dataDir = mkdtempSync(join(tmpdir(), 'herald-pds-'))
const servers = []
let stopping = false
const stop = (code) => {
  if (stopping) return
  stopping = true
  for (const server of servers) server.close()
  rmSync(dataDir, { recursive: true, force: true })
  process.exit(code)
}
process.on('SIGTERM', () => stop(0))
process.on('SIGINT', () => stop(0))
process.stdin.on('end', () => stop(0))
process.stdin.on('close', () => stop(0))
process.stdin.resume()

try {
  const plc = PlcServer.create({ db: Database.mock(), port: 0 })
  const plcServer = await listen(plc.app, 0)
  servers.push(plcServer)
  const plcUrl = `http://127.0.0.1:${plcServer.address().port}`

  const pdsPort = await freePort()
  const admin = randomBytes(16).toString('hex')
  Object.assign(process.env, {
    PDS_HOSTNAME: 'localhost',
    PDS_PORT: String(pdsPort),
    PDS_DATA_DIRECTORY: dataDir,
    PDS_BLOBSTORE_DISK_LOCATION: join(dataDir, 'blobs'),
    PDS_JWT_SECRET: randomBytes(32).toString('hex'),
    PDS_ADMIN_PASSWORD: admin,
    PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: randomBytes(32).toString('hex'),
    PDS_DID_PLC_URL: plcUrl,
    PDS_DEV_MODE: 'true',
    PDS_INVITE_REQUIRED: 'false',
    PDS_CRAWLERS: '',
    LOG_ENABLED: 'false',
  })
  const env = readEnv()
  const pds = await PDS.create(envToCfg(env), envToSecrets(env))
  // PDS.start() would listen on every interface; the tests only need loopback.
  await pds.ctx.sequencer.start()
  servers.push(await listen(pds.app, pdsPort))

  process.stdout.write(
    JSON.stringify({ pds: `http://127.0.0.1:${pdsPort}`, plc: plcUrl, admin }) + '\n',
  )
} catch (error) {
  process.stderr.write(`the PDS did not start: ${error?.stack ?? error}\n`)
  stop(1)
}
