// Every actor interface of keepa-pipeline. Read top to bottom, this file is
// the whole pipeline's contract:
//
//   SCANNER pages /deal and offers candidates, oldest first, to PEEK-FILTER;
//   PEEK-FILTER buys light products and offers survivors to COMMITTER;
//   COMMITTER buys full products and upserts deal records into STORAGE;
//   UPDATER refreshes the stalest stored deals and expires the dead ones.
//   Each of them asks TOKEN before it spends and sends its Keepa requests
//   through the KEEPA CLIENT, which settles every answer with TOKEN.
//   INTROSPECTION relays TOKEN's snapshot, STORAGE's counts and every
//   actor's status; it is the one actor published (over CAF's OpenSSL
//   module, mutual TLS) and hands out no handle.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/type_id.hpp>

#include "messages/atoms.hpp"
#include "messages/fwd.hpp"

namespace keepa {

/// Builds a typed_actor type without including <caf/typed_actor.hpp>.
template<class... Sigs>
struct typed_actor_fwd {
  template<class... Others>
  using extend = typed_actor_fwd<Sigs..., Others...>;

  template<class Other>
  struct extend_with_helper;

  template<class... OtherSigs>
  struct extend_with_helper<typed_actor_fwd<OtherSigs...>> {
    using type = typed_actor_fwd<Sigs..., OtherSigs...>;
  };

  template<class Other>
  using extend_with = typename extend_with_helper<Other>::type;

  using unwrap = caf::typed_actor<Sigs...>;
};

/// Message signatures of each actor; `keepa::X_actor` below is the handle.
namespace sig {

/// Every actor answers `status` with a settings dictionary for keepa-status.
using status_client = typed_actor_fwd<
  // Reports the actor's state as a dictionary.
  caf::replies_to<atom::status>::with<caf::settings>>;

/// Every stage takes `stop`: no new work, answered once in-flight work is
/// done (actors/stages/stop.hpp); a shutdown stops them in `stop_order`.
using stoppable = typed_actor_fwd<
  // Take no new work; answers once in-flight work is done.
  caf::replies_to<atom::stop>::with<caf::ok_atom>>;

/// What the TOKEN actor needs from Keepa: the free /token endpoint.
using token_probe = typed_actor_fwd<
  // Asks /token; answers the envelope.
  caf::replies_to<atom::probe>::with<envelope>>;

/// The TOKEN actor: the sole authority over one Keepa key's bucket.
using token = typed_actor_fwd<
  // Asks for tokens; answers a grant or a recharge-wait notice.
  caf::replies_to<atom::acquire, token_request>::with<token_reply>,
  // Reports what Keepa said after a request (or a plain observation).
  caf::reacts_to<atom::settle, settlement>,
  // Gives back a grant whose request was never sent.
  caf::reacts_to<atom::release, uint64_t>,
  // STORAGE cannot write (the reason): answer every acquire with a
  // recharge-wait naming it, grant nothing, until `resume`.
  caf::reacts_to<atom::hold, std::string>,
  // STORAGE writes again: grant as before.
  caf::reacts_to<atom::resume>,
  // Internal (to itself after an event, behind what the mailbox holds):
  // send `retry` with the ticket to whoever waits with a ticket that may
  // now go earlier than its recharge-wait said.
  caf::reacts_to<atom::tick>,
  // Typed snapshot of balance, queue and totals.
  caf::replies_to<atom::snapshot>::with<token_status>>::
  extend_with<status_client>;

/// The KEEPA CLIENT actor: HTTPS to Keepa (or keepa-sim); settles every
/// answer with TOKEN and releases grants it could not use.
/// A 429 answers the error keepa::ec::not_enough_tokens after settling: the
/// caller asks TOKEN again.
using keepa_client = typed_actor_fwd<
  caf::replies_to<atom::product, product_query>::with<product_page>,
  caf::replies_to<atom::deal, deal_query>::with<deal_page>,
  caf::replies_to<atom::seller, seller_query>::with<seller_page>,
  caf::replies_to<atom::finder, finder_query>::with<finder_page>,
  // Internal: the transport finished a transfer.
  caf::reacts_to<atom::transfer, transfer_result>,
  // Internal: the backoff of a transfer is over; send it again.
  caf::reacts_to<atom::retry, uint64_t>>::extend_with<token_probe>::
  extend_with<status_client>;

/// The STORAGE actor: owns the database session. While the database is
/// locked or its server out of reach it keeps the operation that failed,
/// retries it with backoff and holds TOKEN; every other request waits in the
/// mailbox and is answered late. A permanent error ends it.
using storage = typed_actor_fwd<
  // Stores deals and rejections, marks positions done, advances the
  // watermark; all in one transaction.
  caf::replies_to<atom::upsert, upsert_batch>::with<upsert_ack>,
  // Registers scanned feed positions that are not done yet; answers the
  // number of pending positions.
  caf::replies_to<atom::track, std::vector<feed_position>>::with<uint64_t>,
  // The tracked positions that are not done yet, oldest first; after a
  // restart, the ones the previous run handed on but did not finish.
  caf::replies_to<atom::pending>::with<std::vector<feed_position>>,
  // What storage remembers of these ASINs (one round trip per batch).
  caf::replies_to<atom::known,
                  std::vector<std::string>>::with<std::vector<asin_memory>>,
  // The N stalest deals last seen before the given Unix ms, oldest first.
  caf::replies_to<atom::stalest, uint32_t,
                  int64_t>::with<std::vector<deal_record>>,
  // Deletes deals last seen before the given Unix ms; answers the count.
  caf::replies_to<atom::expire, int64_t>::with<uint64_t>,
  // The durable scan watermark.
  caf::replies_to<atom::watermark>::with<feed_position>,
  caf::replies_to<atom::counts>::with<storage_counts>,
  // The number of stored deals alone (cheaper than all counts).
  caf::replies_to<atom::counts, atom::deal>::with<uint64_t>,
  // Makes everything acknowledged so far durable, then answers.
  caf::replies_to<atom::flush>::with<caf::ok_atom>,
  // Wiring, sent once by the pipeline: the TOKEN that STORAGE tells `hold`
  // while it cannot write and `resume` once it can.
  caf::reacts_to<atom::hold, token::unwrap>,
  // Internal: the backoff after a transient error is over; try again.
  caf::reacts_to<atom::retry>>::extend_with<status_client>;

/// The SCANNER actor: pages /deal down to the watermark.
using scanner = typed_actor_fwd<
  // Scan now (also sent to itself on the scan interval).
  caf::reacts_to<atom::scan>,
  // Downstream ran dry: scan now if allowed.
  caf::reacts_to<atom::drained>,
  // Self-addressed: present a token ticket again.
  caf::reacts_to<atom::retry, uint64_t>,
  // Take no new work; answers once in-flight work is done.
  caf::replies_to<atom::stop>::with<caf::ok_atom>>::extend_with<status_client>;

/// The PEEK-FILTER actor: cheap products, viability rules.
using peek_filter = typed_actor_fwd<
  // Candidates, oldest first; answers how many were accepted.
  caf::replies_to<atom::offer, std::vector<deal>>::with<uint64_t>,
  // How many candidates are queued now (the SCANNER asks before a pass).
  caf::replies_to<atom::backlog>::with<uint64_t>,
  // Wiring, sent once by the pipeline right after spawning the SCANNER:
  // the SCANNER is told `drained` whenever the queue runs dry.
  caf::reacts_to<atom::upstream, scanner::unwrap>,
  caf::reacts_to<atom::retry, uint64_t>,
  caf::replies_to<atom::stop>::with<caf::ok_atom>>::extend_with<status_client>;

/// The COMMITTER actor: full products, deal math, storage.
using committer = typed_actor_fwd<
  // Survivors of the peek; answers how many were accepted.
  caf::replies_to<atom::offer, std::vector<survivor>>::with<uint64_t>,
  caf::reacts_to<atom::retry, uint64_t>,
  caf::replies_to<atom::stop>::with<caf::ok_atom>>::extend_with<status_client>;

/// The UPDATER actor: refreshes stale deals, deletes dead ones.
using updater = typed_actor_fwd<
  // Periodic self-addressed trigger.
  caf::reacts_to<atom::tick>, caf::reacts_to<atom::retry, uint64_t>,
  caf::replies_to<atom::stop>::with<caf::ok_atom>>::extend_with<status_client>;

/// The INTROSPECTION actor: read-only. keepa-pipeline publishes it over
/// CAF's OpenSSL module (mutual TLS, keepa.introspection.port); it answers
/// snapshots, counts and status and hands out no handle, so nothing that
/// can spend or stop is reachable through it (issue 16 item 9).
using introspection = typed_actor_fwd<
  // TOKEN's snapshot, relayed.
  caf::replies_to<atom::snapshot>::with<token_status>,
  // STORAGE's counts, relayed.
  caf::replies_to<atom::counts>::with<storage_counts>,
  // The status of the named actor ("token", "client", "probe-client",
  // "scanner", "peek-filter", "committer", "updater", "storage"), relayed.
  caf::replies_to<atom::status, std::string>::with<caf::settings>>::
  extend_with<status_client>;

} // namespace sig

// -- handles
// --------------------------------------------------------------------

using status_client_actor = sig::status_client::unwrap;
using stoppable_actor = sig::stoppable::unwrap;
using token_probe_actor = sig::token_probe::unwrap;
using token_actor = sig::token::unwrap;
using keepa_client_actor = sig::keepa_client::unwrap;
using storage_actor = sig::storage::unwrap;
using scanner_actor = sig::scanner::unwrap;
using peek_filter_actor = sig::peek_filter::unwrap;
using committer_actor = sig::committer::unwrap;
using updater_actor = sig::updater::unwrap;
using introspection_actor = sig::introspection::unwrap;

} // namespace keepa

// -- type IDs of actor handles (they travel inside messages) ---------------

CAF_BEGIN_TYPE_ID_BLOCK(keepa_actors, caf::id_block::keepa_types::end)

  CAF_ADD_TYPE_ID(keepa_actors, (keepa::status_client_actor))
  CAF_ADD_TYPE_ID(keepa_actors, (keepa::token_probe_actor))
  CAF_ADD_TYPE_ID(keepa_actors, (keepa::token_actor))
  CAF_ADD_TYPE_ID(keepa_actors, (keepa::keepa_client_actor))
  CAF_ADD_TYPE_ID(keepa_actors, (keepa::storage_actor))
  CAF_ADD_TYPE_ID(keepa_actors, (keepa::scanner_actor))
  CAF_ADD_TYPE_ID(keepa_actors, (keepa::peek_filter_actor))
  CAF_ADD_TYPE_ID(keepa_actors, (keepa::committer_actor))
  CAF_ADD_TYPE_ID(keepa_actors, (keepa::updater_actor))
  CAF_ADD_TYPE_ID(keepa_actors, (keepa::introspection_actor))

CAF_END_TYPE_ID_BLOCK(keepa_actors)
