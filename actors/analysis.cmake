# The deal arithmetic (pre-filter, rejection memory, peek, commit math) as
# plain functions; the pipeline's stage actors link it.
keepa_add_actor(analysis SOURCES deal_analysis.cpp LIBS keepa_config)
