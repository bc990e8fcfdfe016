// The chat page: React 19 and @tether/react against the hub. A room is the topic
// `chat:<room>`; a message is a reliable publish to it, so one typed while offline waits
// in the client's outbox and is published exactly once when the connection is back.
// Joining (or reloading) shows the room's newest messages from the hub's history.
//   http://127.0.0.1:3000/?room=lobby&name=alice   (run.mjs bundles this file)
import { TetherProvider, useSubscription, useTether } from '@tether/react';
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';

/** Messages shown on joining: the subscription replays this many from the history. */
const HISTORY = 50;

const params = new URLSearchParams(location.search);
// Topic names allow [A-Za-z0-9_-.:/@#=+]; a room keeps to letters, digits, `_` and `-`.
const room = (params.get('room') ?? '').replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64) || 'lobby';
const name =
  (params.get('name') ?? '').trim().slice(0, 32) || `guest-${Math.floor(Math.random() * 1e4)}`;
const topic = `chat:${room}`;

function Chat() {
  const { state, client } = useTether();
  const { items, gaps, error } = useSubscription(topic, { last: HISTORY, maxItems: 500 });
  const [draft, setDraft] = useState('');
  const [sending, setSending] = useState(0);
  const [failure, setFailure] = useState('');

  function send(event) {
    event.preventDefault();
    const text = draft.trim();
    if (text === '' || client === null) return;
    setDraft('');
    setSending((n) => n + 1);
    // Reliable: retried across reconnects until the hub answered, and published once.
    client
      .publish(topic, { name, text }, { reliable: true })
      .catch((err) => setFailure(`not sent: ${err.message}`))
      .finally(() => setSending((n) => n - 1));
  }

  return (
    <main>
      <header>
        <h1>#{room}</h1>
        <p>
          {name} · <span id="state">{state}</span>
          {sending > 0 && <span id="sending"> · {sending} sending…</span>}
        </p>
      </header>
      {gaps.length > 0 && <p className="note">Older messages are no longer in the history.</p>}
      {error && <p className="note">{error.message}</p>}
      {failure && <p className="note">{failure}</p>}
      <ol id="messages">
        {items.map((pub) => {
          // Any client may publish any JSON to the room: render only what is text.
          const { name: who, text } =
            pub.data !== null && typeof pub.data === 'object' ? pub.data : {};
          return (
            <li key={`${pub.epoch}:${pub.offset}`} className={who === name ? 'mine' : ''}>
              <b>{String(who ?? '?')}</b>: <span>{String(text ?? '')}</span>
            </li>
          );
        })}
      </ol>
      <form onSubmit={send}>
        <input
          id="draft"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          placeholder={`Message #${room}`}
          maxLength={2000}
          autoComplete="off"
        />
        <button type="submit">Send</button>
      </form>
    </main>
  );
}

const url = document.getElementById('root').dataset.hub;
const options = { minReconnectDelayMs: 200, maxReconnectDelayMs: 2000 };
createRoot(document.getElementById('root')).render(
  <StrictMode>
    <TetherProvider url={url} options={options}>
      <Chat />
    </TetherProvider>
  </StrictMode>,
);
