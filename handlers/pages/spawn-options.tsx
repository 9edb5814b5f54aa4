/** @jsxImportSource hono/jsx */
// The spawn form's choices (profiles visible to this user, allowed images): shown on GET when there is
// a choice; POSTed back as fields that become user_options (optionsFromForm).
import type { Config } from '../../src/config/schema.ts';
import { allowedImages, visibleProfiles, type Chooser } from '../../src/spawn/options.ts';
import { Layout } from './layout.tsx';

/** Whether this user has anything to choose (else the form spawns at once, as before). */
export function hasChoice(config: Config, user: Chooser): boolean {
  return visibleProfiles(config, user).length > 1 || Object.keys(allowedImages(config)).length > 1;
}

export function SpawnForm(props: { config: Config; user: Chooser; hub: string; action: string; xsrf: string }) {
  const profiles = visibleProfiles(props.config, props.user);
  const images = Object.entries(allowedImages(props.config));
  const dflt = profiles.find((p) => p.default) ?? profiles[0];
  return (
    <Layout title="Server options" hub={props.hub} user={props.user.name}>
      <form method="post" action={props.action} id="spawn_form">
        <input type="hidden" name="_xsrf" value={props.xsrf} />
        {profiles.length > 1 && (<fieldset><legend>Profile</legend>{profiles.map((p) => (
          <label><input type="radio" name="profile" value={p.slug} checked={p === dflt} /> <strong>{p.display_name}</strong> {p.description}<br /></label>
        ))}</fieldset>)}
        {images.length > 1 && (<fieldset><legend>Image</legend>{images.map(([name, image], i) => (
          <label><input type="radio" name="image" value={image} checked={i === 0} /> {name}<br /></label>
        ))}</fieldset>)}
        <button type="submit">Start</button>
      </form>
    </Layout>
  );
}
