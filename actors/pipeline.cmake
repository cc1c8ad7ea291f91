# The pipeline stages, one translation unit per actor, and their wiring.
keepa_add_actor(pipeline
  SOURCES scanner.cpp peek_filter.cpp committer.cpp
          updater.cpp pipeline.cpp
  LIBS keepa_analysis keepa_keepa_client keepa_token keepa_storage RapidJSON::RapidJSON)
target_compile_definitions(keepa_pipeline PRIVATE
  KEEPA_CONFIG_DIR="${PROJECT_SOURCE_DIR}/config")
