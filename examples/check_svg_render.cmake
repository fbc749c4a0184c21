# ctest helper: renders every .svg file under the given directories to PNG with a real SVG renderer
# (rsvg-convert, librsvg: what GNOME and many browsers' backends parse) and fails on any error or
# warning it prints, or when fewer than MIN files were found.
# Arguments: -DRSVG=<rsvg-convert> -DDIRS=<dir;dir...> -DMIN=<n> -DOUT=<directory for the PNGs>
file(MAKE_DIRECTORY ${OUT})
set(count 0)
foreach(dir IN LISTS DIRS)
  file(GLOB_RECURSE svgs ${dir}/*.svg)
  foreach(svg IN LISTS svgs)
    get_filename_component(name ${svg} NAME_WE)
    string(MD5 tag "${dir}")
    set(png ${OUT}/${name}-${tag}.png)
    file(REMOVE ${png})
    execute_process(COMMAND ${RSVG} --format png --output ${png} ${svg} RESULT_VARIABLE code OUTPUT_VARIABLE out
                    ERROR_VARIABLE err TIMEOUT 60)
    set(size 0)
    if(EXISTS ${png})
      file(SIZE ${png} size)
    endif()
    if(NOT code STREQUAL "0" OR NOT err STREQUAL "" OR size LESS 1000)
      message(FATAL_ERROR "${svg}: rsvg-convert exit code ${code}, ${size} bytes of PNG: ${err}${out}")
    endif()
    math(EXPR count "${count} + 1")
  endforeach()
endforeach()
if(count LESS MIN)
  message(FATAL_ERROR "${count} SVG files in ${DIRS}, at least ${MIN} expected")
endif()
message(STATUS "rendered ${count} SVG files without an error")
