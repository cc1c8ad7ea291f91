# The dependency rule: the core (actors/, messages/, storage/, config/)
# never includes a header from tools/ and never links a tools/ target, and
# config/ never includes a header from actors/.
# Tools and tests may use the core, never the other way round.
#
# - As a script (`cmake -DKEEPA_ROOT=<source dir> -P KeepaDependencyRule.cmake`)
#   it checks the includes; the build runs it on every `cmake --build`
#   (target `dependency_rule`, part of ALL) and CTest as `dependency-rule`.
# - Included from the top-level CMakeLists.txt, `keepa_check_link_rule()`
#   checks the link graph at configure time.

set(KEEPA_CORE_DIRS actors messages storage config)

# Fails with every `#include "tools/..."` (or <tools/...>) in the core.
function(keepa_check_include_rule root)
  set(violations "")
  foreach(dir ${KEEPA_CORE_DIRS})
    file(GLOB_RECURSE files "${root}/${dir}/*.hpp" "${root}/${dir}/*.cpp"
         "${root}/${dir}/*.h")
    foreach(file ${files})
      file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]tools/")
      foreach(line ${lines})
        file(RELATIVE_PATH rel "${root}" "${file}")
        string(STRIP "${line}" line)
        string(APPEND violations "\n  ${rel}: ${line}")
      endforeach()
    endforeach()
  endforeach()
  if(violations)
    message(FATAL_ERROR "dependency rule: the core (${KEEPA_CORE_DIRS}) "
      "must not include tools/:${violations}")
  endif()
  # config/ (defaults, option registry, profiles) sits below actors/ too.
  file(GLOB_RECURSE files "${root}/config/*.hpp" "${root}/config/*.cpp"
       "${root}/config/*.h")
  foreach(file ${files})
    file(STRINGS "${file}" lines
         REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]actors/")
    foreach(line ${lines})
      file(RELATIVE_PATH rel "${root}" "${file}")
      string(STRIP "${line}" line)
      string(APPEND violations "\n  ${rel}: ${line}")
    endforeach()
  endforeach()
  if(violations)
    message(FATAL_ERROR "dependency rule: config/ must not include "
      "actors/:${violations}")
  endif()
endfunction()

# Collects the build system targets defined in `dir` and below.
function(_keepa_targets_below dir out)
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(sub ${subdirs})
    _keepa_targets_below("${sub}" more)
    list(APPEND targets ${more})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

# Fails when a core target links, directly or through others, a target
# defined under tools/.
function(keepa_check_link_rule)
  set(violations "")
  foreach(dir ${KEEPA_CORE_DIRS})
    if(NOT IS_DIRECTORY "${PROJECT_SOURCE_DIR}/${dir}")
      continue()
    endif()
    _keepa_targets_below("${PROJECT_SOURCE_DIR}/${dir}" core)
    foreach(target ${core})
      set(seen "")
      set(todo ${target})
      while(todo)
        list(POP_FRONT todo current)
        if(NOT TARGET "${current}" OR current IN_LIST seen)
          continue()
        endif()
        list(APPEND seen ${current})
        get_target_property(source_dir ${current} SOURCE_DIR)
        if(source_dir MATCHES "^${PROJECT_SOURCE_DIR}/tools(/|$)")
          string(APPEND violations "\n  ${target} -> ${current}")
          continue()
        endif()
        get_target_property(imported ${current} IMPORTED)
        if(imported)
          continue()
        endif()
        get_target_property(libs ${current} LINK_LIBRARIES)
        get_target_property(ilibs ${current} INTERFACE_LINK_LIBRARIES)
        foreach(lib ${libs} ${ilibs})
          if(lib AND NOT lib MATCHES "NOTFOUND$" AND TARGET "${lib}")
            list(APPEND todo ${lib})
          endif()
        endforeach()
      endwhile()
    endforeach()
  endforeach()
  if(violations)
    message(FATAL_ERROR "dependency rule: core targets must not link "
      "tools/ targets:${violations}")
  endif()
endfunction()

if(CMAKE_SCRIPT_MODE_FILE)
  if(NOT KEEPA_ROOT)
    message(FATAL_ERROR "usage: cmake -DKEEPA_ROOT=<source dir> -P ${CMAKE_CURRENT_LIST_FILE}")
  endif()
  keepa_check_include_rule("${KEEPA_ROOT}")
endif()
