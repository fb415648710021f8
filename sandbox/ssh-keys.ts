// ed25519 key pairs for the sandbox's SSH client and LB hosts. ssh2's generator now and
// then produces a private key its own parser rejects (mscdex/ssh2#1390: ~0.6% of keys
// here), which made a sandbox fail to start now and then; so a key is only handed out
// once ssh2 has parsed both halves.
import { utils } from 'ssh2';

export function generateEd25519KeyPair(comment?: string, maxTries = 20): { private: string; public: string } {
  for (let i = 0; i < maxTries; i++) {
    const pair = utils.generateKeyPairSync('ed25519', comment === undefined ? undefined : { comment });
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)) return pair;
  }
  throw new Error(`ssh2 produced ${maxTries} unparseable ed25519 keys in a row`);
}
