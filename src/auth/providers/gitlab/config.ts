// GitLabOAuthenticator, with self-hosted GitLab through base_url.
import { z } from 'zod';
import { insecureUrlProblem, providerCommon, serverUrl } from '../common-config.ts';

export const gitlabConfig = z
  .object({
    kind: z.literal('gitlab'),
    ...providerCommon,
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
    /** GITLAB_URL. */
    base_url: serverUrl.default('https://gitlab.com'),
    /** GitLabOAuthenticator.allowed_gitlab_groups: full paths; members of subgroups count. */
    allowed_groups: z.array(z.string().min(1)).default([]),
    /** GitLabOAuthenticator.allowed_project_ids: members with at least Developer access. */
    allowed_project_ids: z.array(z.number().int().positive()).default([]),
    scope: z.array(z.string()).default(['read_user', 'read_api']),
    /** http:// for base_url outside loopback (tests, labs). Never in production. */
    allow_insecure_http: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    const problem = insecureUrlProblem(c.base_url, c.allow_insecure_http);
    if (problem) ctx.addIssue({ code: 'custom', path: ['base_url'], message: problem });
  });
