import type { Test } from 'tap'
import { IamportClient, type IamportClientOptions } from '../../lib/v1/client.js'
import { createFakeIamport, type FakeIamport, type FakeIamportOptions } from '../../lib/testing/index.js'

/** A fake i'mport server and a client pointed at it, both closed when the test ends. */
export async function fakeWithClient (t: Test, options: Partial<IamportClientOptions> = {}, fakeOptions: FakeIamportOptions = {}): Promise<{ fake: FakeIamport, client: IamportClient }> {
  const fake = await createFakeIamport(fakeOptions)
  const client = new IamportClient({ apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, ...options })
  t.teardown(async () => {
    await client.close()
    await fake.close()
  })
  return { fake, client }
}
