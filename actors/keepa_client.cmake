# The KEEPA CLIENT actor: transports (libcurl, in-process keepa-sim), the
# RapidJSON answer parser and the actor itself.
keepa_add_actor(keepa_client
  SOURCES keepa_client.cpp keepa_parse.cpp curl_transport.cpp
          sim_transport.cpp
  LIBS keepa_sim_model CURL::libcurl RapidJSON::RapidJSON)
