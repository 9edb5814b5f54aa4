// SharedPasswordAuthenticator: its passwords are auth.shared_password and auth.admin_password
// (kept at the auth level so BERTH_SHARED_PASSWORD / BERTH_ADMIN_PASSWORD keep working).
import { z } from 'zod';
import { providerCommon } from '../common-config.ts';

export const sharedPasswordConfig = z.object({ kind: z.literal('shared-password'), ...providerCommon }).strict();
