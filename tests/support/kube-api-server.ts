// The loopback Kubernetes API server lives in dev/ (the demo cluster of `npm start` uses it too); the tests reach it
// through here, which plugs its keys and tokens into the whole-run log scan.
import { secretSink } from '../../dev/kube-api-server';
import { registerPemBody, registerTestSecret } from './log-scan';

secretSink.secret = registerTestSecret;
secretSink.pem = registerPemBody;

export * from '../../dev/kube-api-server';
