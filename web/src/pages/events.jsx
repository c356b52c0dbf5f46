import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { request } from "../lib/client.js";
import { fmtTime } from "../lib/components.jsx";
import { PUBLISH } from "../lib/documents.js";
import { eventStream } from "../lib/stores.js";

const EMPTY_FORM = {
  exchange: "ose.events",
  eventType: "",
  sourceService: "",
  routingKey: "",
  priority: "5",
  correlationId: "",
  payload: "{}",
};

export function Events() {
  const params = new URLSearchParams(location.search);
  const [filter, setFilter] = useState({
    exchange: params.get("exchange") ?? "",
    pattern: params.get("pattern") ?? "",
  });
  const [applied, setApplied] = useState(filter);
  const [events, setEvents] = useState([]);
  const [open, setOpen] = useState(null);

  useEffect(() => {
    setEvents([]);
    const next = new URLSearchParams(Object.entries(applied).filter(([, v]) => v));
    history.replaceState(null, "", `${location.pathname}${next.size ? `?${next}` : ""}`);
    return eventStream(
      { exchange: applied.exchange || null, pattern: applied.pattern || null, keep: 500 },
      setEvents,
    );
  }, [applied.exchange, applied.pattern]);

  return (
    <main class="events">
      <form class="toolbar" onSubmit={(e) => { e.preventDefault(); setApplied(filter); }}>
        <input placeholder="Exchange (all)" aria-label="Exchange" value={filter.exchange}
          onInput={(e) => setFilter({ ...filter, exchange: e.currentTarget.value })} />
        <input placeholder="Pattern, e.g. orders.* or #.dead" aria-label="Topic pattern"
          value={filter.pattern} onInput={(e) => setFilter({ ...filter, pattern: e.currentTarget.value })} />
        <button type="submit">Filter</button>
        <span class="muted" data-testid="event-count">{events.length} events</span>
      </form>
      <div class="columns">
        <section class="panel stream" aria-label="Event stream">
          {events.length ? (
            <table>
              <thead>
                <tr><th>Seen</th><th>Exchange</th><th>Routing key</th><th>Type</th><th>Source</th><th>Priority</th></tr>
              </thead>
              <tbody>
                {events.map((event) => (
                  <Fragment key={event.eventId}>
                    <tr class="event-row" onClick={() => setOpen(open === event.eventId ? null : event.eventId)}>
                      <td>{fmtTime(event.seenAt)}</td>
                      <td>{event.exchange}</td>
                      <td><code>{event.routingKey}</code></td>
                      <td>{event.eventType}</td>
                      <td>{event.sourceService}</td>
                      <td>{event.priority}</td>
                    </tr>
                    {open === event.eventId ? (
                      <tr>
                        <td colSpan={6}>
                          <pre>{JSON.stringify({ eventId: event.eventId, correlationId: event.correlationId, payload: event.payload }, null, 2)}</pre>
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">No events yet. They appear here as they are published: status
              changes of your services, and anything published below or through the API.</p>
          )}
        </section>
        <PublishForm />
      </div>
    </main>
  );
}

function PublishForm() {
  const [form, setForm] = useState(EMPTY_FORM);
  const [result, setResult] = useState(null);
  const field = (name) => ({
    value: form[name],
    onInput: (e) => setForm({ ...form, [name]: e.currentTarget.value }),
  });
  const publish = async (event) => {
    event.preventDefault();
    let payload;
    try {
      payload = JSON.parse(form.payload || "{}");
    } catch (e) {
      setResult({ error: `The payload is not valid JSON: ${e.message}` });
      return;
    }
    const input = {
      exchange: form.exchange,
      eventType: form.eventType,
      sourceService: form.sourceService,
      routingKey: form.routingKey || null,
      priority: Number(form.priority),
      correlationId: form.correlationId || null,
      payload,
    };
    try {
      const { publishEvent } = await request(PUBLISH, { input });
      setResult(publishEvent.__typename === "PublishReceipt"
        ? { ok: `Event ${publishEvent.eventId} ${publishEvent.status} (routing key ${publishEvent.routingKey}).` }
        : { error: publishEvent.message });
    } catch (e) {
      setResult({ error: e.message });
    }
  };
  return (
    <form class="panel publish" onSubmit={publish} aria-label="Publish an event">
      <h2>Publish an event</h2>
      <label>Exchange <input required {...field("exchange")} /></label>
      <label>Event type <input required placeholder="service.started" {...field("eventType")} /></label>
      <label>Source service <input required placeholder="discovery" {...field("sourceService")} /></label>
      <label>Routing key <input placeholder="source.event_type" {...field("routingKey")} /></label>
      <label>Priority
        <select {...field("priority")} onChange={(e) => setForm({ ...form, priority: e.currentTarget.value })}>
          <option value="2">2 (low)</option>
          <option value="5">5 (normal)</option>
          <option value="7">7 (high)</option>
          <option value="9">9 (critical)</option>
        </select>
      </label>
      <label>Correlation id <input {...field("correlationId")} /></label>
      <label>Payload (JSON object) <textarea rows={5} {...field("payload")} /></label>
      <button type="submit">Publish</button>
      {result?.ok ? <p class="ok" role="status">{result.ok}</p> : null}
      {result?.error ? <p class="error" role="alert">{result.error}</p> : null}
    </form>
  );
}
