// Forward declarations of every keepa-pipeline message type and the type-ID
// block that names them. Cheap to include: only <caf/fwd.hpp> and
// <caf/type_id.hpp>.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/type_id.hpp>

namespace keepa {

// -- token protocol (token.hpp) -----------------------------------------------

enum class stage : uint8_t;
struct token_request;
struct token_grant;
struct recharge_wait;
struct settlement;
struct waiting_entry;
struct token_totals;
struct token_status;
struct consumer_share;

/// The token actor's answer to `acquire`: a grant or a recharge-wait notice.
using token_reply = caf::variant<token_grant, recharge_wait>;

// -- Keepa API (keepa.hpp) ----------------------------------------------------

struct envelope;
struct product_query;
struct deal_query;
struct seller_query;
struct product_stats;
struct offer_summary;
struct product;
struct deal;
struct seller;
struct product_page;
struct deal_page;
struct seller_page;
struct finder_query;
struct finder_page;
enum class transfer_failure : uint8_t;
struct transfer_result;

// -- storage (storage.hpp) ----------------------------------------------------

enum class write_stage : uint8_t;
struct feed_position;
struct deal_record;
struct rejection_record;
struct asin_memory;
struct upsert_batch;
struct upsert_ack;
struct storage_counts;

// -- pipeline stages (pipeline.hpp) -------------------------------------------

struct survivor;

// -- introspection (introspection.hpp) ----------------------------------------

struct pipeline_directory;

/// Registers all keepa message types and error renderers with `cfg`.
void add_message_types(caf::actor_system_config& cfg);

} // namespace keepa

// -- type IDs -----------------------------------------------------------------

CAF_BEGIN_TYPE_ID_BLOCK(keepa_types, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(keepa_types, (keepa::stage))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::token_request))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::token_grant))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::recharge_wait))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::settlement))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::waiting_entry))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::token_totals))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::token_status))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::consumer_share))
  CAF_ADD_TYPE_ID(keepa_types,
                  (caf::variant<keepa::token_grant, keepa::recharge_wait>))

  CAF_ADD_TYPE_ID(keepa_types, (keepa::envelope))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::product_query))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::deal_query))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::seller_query))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::product_stats))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::offer_summary))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::product))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::deal))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::seller))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::product_page))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::deal_page))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::seller_page))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::transfer_failure))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::transfer_result))

  CAF_ADD_TYPE_ID(keepa_types, (keepa::write_stage))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::feed_position))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::deal_record))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::rejection_record))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::asin_memory))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::upsert_batch))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::upsert_ack))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::storage_counts))

  CAF_ADD_TYPE_ID(keepa_types, (keepa::survivor))

  // Vectors that travel as message elements on their own.
  CAF_ADD_TYPE_ID(keepa_types, (std::vector<std::string>))
  CAF_ADD_TYPE_ID(keepa_types, (std::vector<keepa::deal>))
  CAF_ADD_TYPE_ID(keepa_types, (std::vector<keepa::survivor>))
  CAF_ADD_TYPE_ID(keepa_types, (std::vector<keepa::feed_position>))
  CAF_ADD_TYPE_ID(keepa_types, (std::vector<keepa::deal_record>))
  CAF_ADD_TYPE_ID(keepa_types, (std::vector<keepa::rejection_record>))
  CAF_ADD_TYPE_ID(keepa_types, (std::vector<keepa::asin_memory>))

  CAF_ADD_TYPE_ID(keepa_types, (keepa::finder_query))
  CAF_ADD_TYPE_ID(keepa_types, (keepa::finder_page))

CAF_END_TYPE_ID_BLOCK(keepa_types)
