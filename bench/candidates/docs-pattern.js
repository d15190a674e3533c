import express from 'express'
import axios from 'axios'
import { serveCandidate, upstreamSettings } from './serve.js'

// Candidate "docs pattern": the vendor's server-side example for certifications: Express, axios,
// and a new getToken before every lookup, token sent raw in `Authorization`.
const upstream = upstreamSettings()
const app = express()
app.use(express.json())
app.post('/certifications', async (request, response) => {
  const { imp_uid: impUid } = request.body
  try {
    const getToken = await axios({
      url: upstream.url + '/users/getToken',
      method: 'post',
      headers: { 'Content-Type': 'application/json' },
      data: { imp_key: upstream.apiKey, imp_secret: upstream.apiSecret }
    })
    const { access_token: accessToken } = getToken.data.response
    const getCertifications = await axios({
      url: upstream.url + '/certifications/' + impUid,
      method: 'get',
      headers: { Authorization: accessToken }
    })
    const certificationsInfo = getCertifications.data.response
    response.status(200).json({ verified: certificationsInfo.certified === true })
  } catch {
    response.status(500).json({ verified: false })
  }
})
const server = app.listen(0, '127.0.0.1', () => {
  serveCandidate(server.address().port, () => new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
})
