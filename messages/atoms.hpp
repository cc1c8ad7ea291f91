// Atoms of the keepa protocol. In CAF 0.17 an atom is a value type built from
// at most 10 characters; two atoms with the same text are the same type.

#pragma once

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

#define KEEPA_ATOM(name, text) \
  CAF_ADD_ATOM(keepa_atoms, keepa::atom, name, text)

// -- token actor
// ----------------------------------------------------------------
KEEPA_ATOM(acquire, "acquire") // ask for tokens
KEEPA_ATOM(settle, "settle") // report what Keepa said after a request
KEEPA_ATOM(release, "release") // give back a grant that was never used
KEEPA_ATOM(snapshot, "snapshot") // typed status of the token actor
KEEPA_ATOM(probe, "probe") // ask Keepa's free /token endpoint
KEEPA_ATOM(retry, "retry") // self-addressed: present a ticket again
KEEPA_ATOM(hold, "hold") // grant nothing until resume (STORAGE cannot write)
KEEPA_ATOM(resume, "resume") // grant again after a hold

// -- Keepa client
// ---------------------------------------------------------------
KEEPA_ATOM(product, "product")
KEEPA_ATOM(deal, "deal")
KEEPA_ATOM(seller, "seller")
KEEPA_ATOM(finder, "finder") // Product Finder (/query)

// -- pipeline stages ----------------------------------------------------------
KEEPA_ATOM(status, "status") // generic status (caf::settings)
KEEPA_ATOM(scan, "scan") // scan the deal feed now
KEEPA_ATOM(drained, "drained") // downstream ran dry
KEEPA_ATOM(offer, "offer") // hand work to the next stage
KEEPA_ATOM(tick, "tick") // periodic self-addressed work trigger
KEEPA_ATOM(stop, "stop") // finish in-flight work, take no new work
KEEPA_ATOM(backlog, "backlog") // how many candidates a stage holds
KEEPA_ATOM(upstream, "upstream") // wiring: who feeds a stage

// -- storage
// --------------------------------------------------------------------
KEEPA_ATOM(upsert, "upsert")
KEEPA_ATOM(reject, "reject")
KEEPA_ATOM(known, "known")
KEEPA_ATOM(stalest, "stalest")
KEEPA_ATOM(expire, "expire")
KEEPA_ATOM(track, "track")
KEEPA_ATOM(pending, "pending") // tracked feed positions not done yet
KEEPA_ATOM(watermark, "watermark")
KEEPA_ATOM(counts, "counts")
KEEPA_ATOM(flush, "flush")
KEEPA_ATOM(transfer, "transfer") // a transport finished an HTTP transfer

// -- introspection ----------------------------------------------------------

#undef KEEPA_ATOM
