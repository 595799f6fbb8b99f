<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis styleCategories="Symbology" version="3.34.0">
  <renderer-v2 attr="fix" enableorderby="0" forceraster="0" symbollevels="0" type="categorizedSymbol">
    <categories>
      <category label="1 - RTK fixed" render="true" symbol="0" value="1"/>
      <category label="2 - RTK float" render="true" symbol="1" value="2"/>
      <category label="5 - single" render="true" symbol="2" value="5"/>
      <category label="other" render="true" symbol="3" value=""/>
    </categories>
    <symbols>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="0" type="marker"><layer class="SimpleMarker" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="26,150,65,255"/><Option name="name" type="QString" value="circle"/><Option name="outline_style" type="QString" value="no"/><Option name="size" type="QString" value="1.6"/></Option></layer></symbol>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="1" type="marker"><layer class="SimpleMarker" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="253,174,97,255"/><Option name="name" type="QString" value="circle"/><Option name="outline_style" type="QString" value="no"/><Option name="size" type="QString" value="1.6"/></Option></layer></symbol>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="2" type="marker"><layer class="SimpleMarker" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="215,25,28,255"/><Option name="name" type="QString" value="circle"/><Option name="outline_style" type="QString" value="no"/><Option name="size" type="QString" value="1.6"/></Option></layer></symbol>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="3" type="marker"><layer class="SimpleMarker" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="150,150,150,255"/><Option name="name" type="QString" value="circle"/><Option name="outline_style" type="QString" value="no"/><Option name="size" type="QString" value="1.6"/></Option></layer></symbol>
    </symbols>
  </renderer-v2>
  <layerGeometryType>0</layerGeometryType>
</qgis>
