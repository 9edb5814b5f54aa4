// Does a provider entry carry an allow rule of its own (what the fail-closed start-up check reads)?
import { configSchema } from '../../src/config/schema.ts';
import { ownAllowRules } from '../../src/auth/providers/allow-rules.ts';

export const hasOwnAllowRule = (entry: Record<string, unknown>) => ownAllowRules(configSchema.parse({ auth: { providers: [entry] } }).auth.providers[0]!).length > 0;
