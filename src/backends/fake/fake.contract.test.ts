// The fake backend runs the shared backend contract suite, like every real backend.
import { backendContract } from '../../../test/contract/backend.contract.ts';
import { FakeBackend } from './index.ts';

backendContract('fake', async () => {
  const backend = new FakeBackend();
  await backend.init({ port: 8000 });
  return {
    backend,
    images: { ok: 'fake', fail: 'fake:fail', hang: 'fake:never' },
    cleanup: () => backend.close(),
  };
});
