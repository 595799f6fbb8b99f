<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis styleCategories="Symbology" version="3.34.0">
  <renderer-v2 attr="platform" enableorderby="0" forceraster="0" symbollevels="0" type="categorizedSymbol">
    <categories>
      <category label="ASV" render="true" symbol="0" value="ASV"/>
      <category label="UAV" render="true" symbol="1" value="UAV"/>
      <category label="AUV" render="true" symbol="2" value="AUV"/>
      <category label="UVC" render="true" symbol="3" value="UVC"/>
      <category label="SCUBA" render="true" symbol="4" value="SCUBA"/>
      <category label="PADDLE" render="true" symbol="5" value="PADDLE"/>
      <category label="KITE" render="true" symbol="6" value="KITE"/>
      <category label="MASK" render="true" symbol="7" value="MASK"/>
      <category label="BOAT" render="true" symbol="8" value="BOAT"/>
      <category label="HIKE" render="true" symbol="9" value="HIKE"/>
      <category label="other" render="true" symbol="10" value=""/>
    </categories>
    <symbols>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="0" type="fill"><layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="31,120,180,90"/><Option name="outline_color" type="QString" value="31,120,180,255"/><Option name="outline_width" type="QString" value="0.4"/><Option name="style" type="QString" value="solid"/></Option></layer></symbol>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="1" type="fill"><layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="227,26,28,90"/><Option name="outline_color" type="QString" value="227,26,28,255"/><Option name="outline_width" type="QString" value="0.4"/><Option name="style" type="QString" value="solid"/></Option></layer></symbol>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="2" type="fill"><layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="106,61,154,90"/><Option name="outline_color" type="QString" value="106,61,154,255"/><Option name="outline_width" type="QString" value="0.4"/><Option name="style" type="QString" value="solid"/></Option></layer></symbol>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="3" type="fill"><layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="51,160,44,90"/><Option name="outline_color" type="QString" value="51,160,44,255"/><Option name="outline_width" type="QString" value="0.4"/><Option name="style" type="QString" value="solid"/></Option></layer></symbol>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="4" type="fill"><layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="255,127,0,90"/><Option name="outline_color" type="QString" value="255,127,0,255"/><Option name="outline_width" type="QString" value="0.4"/><Option name="style" type="QString" value="solid"/></Option></layer></symbol>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="5" type="fill"><layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="166,206,227,90"/><Option name="outline_color" type="QString" value="166,206,227,255"/><Option name="outline_width" type="QString" value="0.4"/><Option name="style" type="QString" value="solid"/></Option></layer></symbol>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="6" type="fill"><layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="177,89,40,90"/><Option name="outline_color" type="QString" value="177,89,40,255"/><Option name="outline_width" type="QString" value="0.4"/><Option name="style" type="QString" value="solid"/></Option></layer></symbol>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="7" type="fill"><layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="251,154,153,90"/><Option name="outline_color" type="QString" value="251,154,153,255"/><Option name="outline_width" type="QString" value="0.4"/><Option name="style" type="QString" value="solid"/></Option></layer></symbol>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="8" type="fill"><layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="253,191,111,90"/><Option name="outline_color" type="QString" value="253,191,111,255"/><Option name="outline_width" type="QString" value="0.4"/><Option name="style" type="QString" value="solid"/></Option></layer></symbol>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="9" type="fill"><layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="178,223,138,90"/><Option name="outline_color" type="QString" value="178,223,138,255"/><Option name="outline_width" type="QString" value="0.4"/><Option name="style" type="QString" value="solid"/></Option></layer></symbol>
      <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="10" type="fill"><layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map"><Option name="color" type="QString" value="150,150,150,90"/><Option name="outline_color" type="QString" value="150,150,150,255"/><Option name="outline_width" type="QString" value="0.4"/><Option name="style" type="QString" value="solid"/></Option></layer></symbol>
    </symbols>
  </renderer-v2>
  <layerGeometryType>2</layerGeometryType>
</qgis>
