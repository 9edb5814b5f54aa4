// GitHubOAuthenticator, with GitHub Enterprise through base_url.
import { z } from 'zod';
import { insecureUrlProblem, providerCommon, serverUrl } from '../common-config.ts';

export const githubConfig = z
  .object({
    kind: z.literal('github'),
    ...providerCommon,
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
    /** GITHUB_URL: https://github.com, or a GitHub Enterprise Server's address. */
    base_url: serverUrl.default('https://github.com'),
    /** GITHUB_API: default https://api.github.com for github.com, <base_url>/api/v3 otherwise. */
    api_url: serverUrl.optional(),
    /** GitHubOAuthenticator.allowed_organizations: "org" or "org:team-slug". */
    allowed_organizations: z.array(z.string().min(1)).default([]),
    /** GitHubOAuthenticator.populate_teams_in_auth_state, and teams as "org:team" groups. */
    teams_as_groups: z.boolean().default(true),
    scope: z.array(z.string()).default([]),
    /** http:// for base_url / api_url outside loopback (tests, labs). Never in production. */
    allow_insecure_http: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const key of ['base_url', 'api_url'] as const) {
      const problem = insecureUrlProblem(c[key], c.allow_insecure_http);
      if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
    }
  });
